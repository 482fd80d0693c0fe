/** environments: section (DESIGN §8). */
import { z } from 'zod';

export const environmentsSchema = z.record(z.string(), z.unknown());
