/** DDPM linear β schedule (Ho et al. 2020): β from 1e-4 to 0.02 over T = 1000 steps, and ᾱ_t = Π (1 − β). */
export interface DiffusionSchedule {
  T: number;
  betas: Float64Array;
  alphaBar: Float64Array;
}

export function linearSchedule(T = 1000, beta1 = 1e-4, betaT = 0.02): DiffusionSchedule {
  const betas = new Float64Array(T);
  const alphaBar = new Float64Array(T);
  let prod = 1;
  for (let t = 0; t < T; t++) {
    betas[t] = T === 1 ? beta1 : beta1 + ((betaT - beta1) * t) / (T - 1);
    prod *= 1 - betas[t];
    alphaBar[t] = prod;
  }
  return { T, betas, alphaBar };
}
