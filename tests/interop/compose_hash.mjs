// teeliza compose-hash against @phala/dstack-sdk 0.5.8's getComposeHash (npm alias dstack-sdk-058):
// for each app-compose text below, both must give the same hash, with and without normalize, and
// `--canonical` must print text whose SHA-256 is that hash.
// usage: node compose_hash.mjs TEELIZA WORKDIR
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getComposeHash } from 'dstack-sdk-058/get-compose-hash';

const [teeliza, work] = process.argv.slice(2);

const compose = '"services:\\n  app:\\n    image: ghcr.io/x/teeliza@sha256:ab\\n    ports: [\\"3000:3000\\"]\\n"';
// Texts, not objects: number spellings and key order must reach both sides as written.
const cases = {
  'plain': `{"manifest_version":2,"name":"teeliza","runner":"docker-compose","docker_compose_file":${compose},` +
    `"kms_enabled":true,"gateway_enabled":false,"public_logs":true,"public_sysinfo":true,` +
    `"allowed_envs":["API_TOKEN","OPENAI_API_KEY"],"no_instance_id":false,"secure_time":false}`,
  'already-canonical': `{"docker_compose_file":${compose},"manifest_version":2,"name":"a","runner":"docker-compose"}`,
  'pretty-and-nested': `{\n  "runner": "docker-compose",\n  "name": "n",\n  "docker_config": {"username": "u", "registry": "r", "token_key": "t"},\n  "features": ["kms", "tproxy-net"],\n  "z": {"b": [{"d": 1, "c": 2}], "a": null}\n}\n`,
  'numbers': `{"runner":"x","a":1.0,"b":1e21,"c":1e20,"d":1e-7,"e":0.000001,"f":-0,"g":0.1,"h":123456789012345678901,` +
    `"i":5e-324,"j":1.7976931348623157e308,"k":-2.5E+3,"l":100,"m":0.30000000000000004,"n":1.5e-10,"o":4.35,"p":123e-20}`,
  'strings': `{"runner":"x","s":"quote \\" backslash \\\\ slash \\/ tab \\t nl \\n cr \\r bs \\b ff \\f ctl \\u0001 \\u001f del \\u007f",` +
    `"u":"é 😀 \\u2028 \\u2029 \\ud83d\\ude00 \\u00e9","nul":"a\\u0000b"}`,
  'key-order': `{"runner":"x","b":1,"a":2,"B":3,"é":4,"😀":5,"\\uffff":6,"\\ue000":7,"10":8,"9":9,"01":10,"0":11,` +
    `"4294967294":12,"4294967295":13,"-1":14,"1.5":15,"":16,"aa":17,"a a":18}`,
  'constructor': `{"runner":"x","obj":{"constructor":"c","b":{"z":1,"y":2},"a":1,"2":0,"1":0},"after":{"b":1,"a":2}}`,
  'normalize-bash': `{"runner":"bash","bash_script":"echo hi","docker_compose_file":"x","pre_launch_script":""}`,
  'normalize-compose': `{"runner":"docker-compose","bash_script":"echo hi","docker_compose_file":"x","pre_launch_script":"set -e"}`,
  'normalize-falsy': `{"runner":"docker-compose","pre_launch_script":null,"x":[0,false,null,""]}`,
  'normalize-zero': `{"runner":"other","pre_launch_script":0,"bash_script":"b","docker_compose_file":"d"}`,
  'empty': `{}`,
  'deep-arrays': `{"a":[[[[[{"y":[1,{"b":2,"a":1}],"x":true}]]]]]}`,
};

let failed = 0;
const run = (args) => execFileSync(teeliza, ['compose-hash', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
for (const [name, text] of Object.entries(cases)) {
  const file = join(work, `${name}.json`);
  writeFileSync(file, text);
  for (const normalize of [false, true]) {
    const want = getComposeHash(JSON.parse(text), normalize);
    const got = run(normalize ? [file, '--normalize'] : [file]);
    const canon = run(normalize ? [file, '--normalize', '--canonical'] : [file, '--canonical']);
    const canonHash = createHash('sha256').update(Buffer.from(canon, 'utf8')).digest('hex');
    const ok = got === want && canonHash === want;
    if (!ok) failed++;
    console.log(`${ok ? 'ok' : 'FAIL'}: ${name}${normalize ? ' (normalize)' : ''}: sdk ${want}, teeliza ${got}` +
      (canonHash === want ? '' : `, --canonical hashes to ${canonHash}: ${canon}`));
  }
}
// The canonical text, deployed as it is, is what the OS measures: --raw over it gives the SDK's hash.
const file = join(work, 'canonical.json');
writeFileSync(file, run([join(work, 'plain.json'), '--canonical']));
const raw = run([file, '--raw']);
const want = getComposeHash(JSON.parse(cases.plain));
if (raw !== want) failed++;
console.log(`${raw === want ? 'ok' : 'FAIL'}: --raw over --canonical's text: ${raw}, sdk ${want}`);
process.exit(failed ? 1 : 0);
