/**
 * A webpack loader for the versioning test: it builds the workflow as if the change had been made
 * without its patched() guard, to show that old histories would then fail to replay.
 */
module.exports = function unpatch(source) {
  return source.replace("patched('search-attributes-and-summaries')", 'true');
};
