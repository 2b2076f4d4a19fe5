/**
 * A webpack loader for the replay test: it builds the workflow as if a rule of the application
 * form had been tightened since the fixtures were recorded (the mobile rule now admits only 19x
 * numbers; every recorded form has 138/139 numbers).
 */
module.exports = function tighten(source) {
  const loose = "const Mobile = z.string().regex(/^1[3-9]\\d{9}$/, 'an 11-digit mainland mobile number');";
  if (!source.includes(loose)) throw new Error('tighten-schema-loader: the mobile rule changed; update this loader');
  return source.replace(loose, "const Mobile = z.string().regex(/^19\\d{9}$/, 'a 19x mobile number');");
};
