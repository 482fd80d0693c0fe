// Writes dist/slipway.schema.json, the JSON Schema of slipway.yml, from the compiled zod schema
// (src/config/json-schema.ts), so editors and the shipped package always match this build.
import { writeFileSync } from 'node:fs';
import { pipelineJsonSchema } from '../dist/src/config/json-schema.js';

writeFileSync('dist/slipway.schema.json', `${JSON.stringify(pipelineJsonSchema(), null, 2)}\n`);
