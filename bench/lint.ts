/**
 * The voice lint on real fiction: the share of 1,000–1,500-word chunks it flags in the held-out half of
 * `../shared/lint-corpus/` (published novels, model-written chapters). Run alone with `npx tsx bench/lint.ts`.
 */
import { pathToFileURL } from "node:url";
import { corpusAvailable, corpusChunks, flagRates, LINT_CORPUS } from "../tests/helpers/lint-corpus.js";

interface Row {
  figure: string;
  value: number;
  goal: string;
  met: boolean;
}

export function benchLint(): Row[] {
  const human = "lint: human chunks flagged (held-out)";
  const model = "lint: model chunks flagged (held-out)";
  if (!corpusAvailable()) {
    console.error(`no fiction corpus at ${LINT_CORPUS}`);
    return [
      { figure: human, value: Number.NaN, goal: "≤ 0.05", met: false },
      { figure: model, value: Number.NaN, goal: "≥ 0.5", met: false },
    ];
  }
  const rates = flagRates(corpusChunks(), "held-out");
  return [
    { figure: human, value: rates.humanRate, goal: "≤ 0.05", met: rates.humanRate <= 0.05 },
    { figure: model, value: rates.modelRate, goal: "≥ 0.5", met: rates.modelRate >= 0.5 },
  ];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(benchLint());
}
