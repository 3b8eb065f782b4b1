export { DISCORD_MESSAGE_LIMIT, splitForDiscord, truncate } from "./discord";
export {
  describeHits,
  LINT_THRESHOLD,
  type LintHit,
  type LintReport,
  type LintRule,
  lintProse,
} from "./lint";
export { endsMidSentence, endsWithTerminalPunctuation, findMetaText, newMetaText } from "./meta";
export { editDistance, findNameVariants, type NameVariant } from "./names";
export {
  countWords,
  lastWords,
  paragraphSpans,
  type Span,
  splitParagraphs,
  truncateWords,
  wordRegex,
  wordSpans,
} from "./words";
