/**
 * A webpack loader for the versioning test: it builds the workflow as if a change had been made
 * without its patched() guard (the loader's `patch` option names it), to show that histories
 * recorded before the change would then fail to replay.
 */
module.exports = function unpatch(source) {
  const { patch } = this.getOptions();
  return source.replace(`patched('${patch}')`, 'true');
};
