/**
 * Scheduled sampling (Bengio et al. 2015): the probability of feeding the decoder the
 * ground-truth previous character instead of its own prediction, as a function of the
 * training step. It starts at (or near) 1 and decays toward `min`.
 */
export type TeacherForcingKind = 'constant' | 'linear' | 'exponential' | 'inverse-sigmoid';

export interface TeacherForcingSchedule {
  kind: TeacherForcingKind;
  /** Lowest probability the schedule decays to. */
  min: number;
  /**
   * linear: p = max(min, 1 - slope * step);
   * exponential: p = max(min, decay ^ step) (decay < 1);
   * inverse-sigmoid: p = max(min, k / (k + exp(step / k))) (k >= 1);
   * constant: p = value.
   */
  slope?: number;
  decay?: number;
  k?: number;
  value?: number;
}

export const DEFAULT_TEACHER_FORCING: TeacherForcingSchedule = { kind: 'inverse-sigmoid', k: 2000, min: 0.7 };

export function teacherForcingProbability(s: TeacherForcingSchedule, step: number): number {
  let p: number;
  switch (s.kind) {
    case 'constant':
      p = s.value ?? 1;
      break;
    case 'linear':
      p = 1 - (s.slope ?? 1e-4) * step;
      break;
    case 'exponential':
      p = Math.pow(s.decay ?? 0.9999, step);
      break;
    case 'inverse-sigmoid': {
      const k = s.k ?? 1000;
      p = k / (k + Math.exp(Math.min(step / k, 700)));
      break;
    }
    default:
      throw new Error(`unknown teacher-forcing schedule "${String((s as { kind: unknown }).kind)}"`);
  }
  return Math.min(1, Math.max(s.min, p));
}

export function validateTeacherForcing(s: TeacherForcingSchedule): void {
  teacherForcingProbability(s, 0);
  if (!(s.min >= 0 && s.min <= 1)) throw new Error('teacher forcing min must be in [0, 1]');
  if (s.kind === 'exponential' && !((s.decay ?? 0.9999) > 0 && (s.decay ?? 0.9999) < 1)) throw new Error('exponential decay must be in (0, 1)');
  if (s.kind === 'inverse-sigmoid' && !((s.k ?? 1000) >= 1)) throw new Error('inverse-sigmoid k must be >= 1');
}
