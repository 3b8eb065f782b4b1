/**
 * Stock phrases that mark prose as machine-written: the clichés instruction-tuned models reach for far
 * more often than published fiction does. Each entry is a case-insensitive regex source (joined into one
 * alternation by lint.ts). Written as `phrase()` templates so an apostrophe matches both ' and ’ and a
 * space matches any run of whitespace, including a line break from wrapped text.
 *
 * Curated rather than exhaustive: a false alarm costs a needless rewrite, so a phrase is listed only when
 * it is rare in good human prose in the listed form. That is why "electric" needs a context ("the air was
 * electric") and "a flurry of" or "hung in the air" are absent.
 */

/** Possessives and subjects that the same cliché is written with. */
const POS = "(?:her|his|their|my|your|our)";
const SELF = "(?:herself|himself|themselves|myself|yourself|ourselves)";
const SUBJECT = "(?:she|he|they|i|we|you)";
const OBJ = "(?:her|him|them|me|us|you)";

function phrase(source: string): string {
  return source.replace(/'/g, "['’]").replace(/ /g, "\\s+");
}

export const STOCK_PHRASE_PATTERNS: readonly string[] = [
  "a testament to",
  "(?:a )?(?:rich )?tapestry of",
  "delv(?:e|ed|es|ing) (?:deep(?:er)? )?into",
  "couldn't help but",
  `(?:sent|send|sending) (?:a )?(?:shivers?|chills?) (?:up|down) ${POS} spines?`,
  `(?:a )?(?:shivers?|chills?) (?:ran|run|running|went|crept|crawled|raced) (?:up|down) ${POS} spines?`,
  "a dance of",
  "(?:an )?intricate dance",
  "the weight of the world",
  `the (?:weight|gravity) of ${POS} words`,
  "barely (?:above )?a whisper",
  "in that moment",
  "little did",
  "it was as if",
  "a symphony of",
  "palpable",
  "the air (?:was|felt|grew|hung) (?:thick|heavy) with",
  "hung heavy in the air",
  "a mix of",
  "a cocktail of",
  "eyes that held",
  "a flicker of",
  "unspoken",
  "(?:was|felt|seemed|grew) electric",
  "electric (?:tension|charge|current|energy|silence|anticipation)",
  "electricity (?:between|crackled|hummed|coursed)",
  "the silence stretched",
  "a comfortable silence",
  `(?:let out|released|exhaled) a breath (?:that )?${SUBJECT} (?:didn't|did not|hadn't|had not) (?:know|known|realized?|realised?)`,
  `${POS} breath hitched`,
  `breath caught in ${POS} throat`,
  "heart (?:pounded|pounding|hammered|hammering|thundered|thundering)",
  `${POS} heart skipped a beat`,
  `steeled ${SELF}`,
  "a wave of (?:relief|guilt|nausea|emotion|panic|dread|exhaustion|sadness|grief|warmth|calm|fear)",
  `washed over ${OBJ}`,
  "a pang of",
  `a lump (?:formed )?in ${POS} throat`,
  "a smile tugg(?:ed|ing) at",
  "tugg(?:ed|ing) at the corners of",
  `the corners of ${POS} (?:mouth|lips) (?:twitched|lifted|curved|quirked)`,
  "the ghost of a smile",
  `a (?:mischievous |knowing |playful )?glint in ${POS} eyes?`,
  "(?:eyes|gaze) (?:sparkled|glinted|twinkled|danced) with",
  "(?:voice|words|tone) (?:dripping|dripped|laced) with",
  "a sense of (?:dread|unease|foreboding|purpose|belonging)",
  "an air of",
  "a stark (?:reminder|contrast)",
  "in the grand scheme of things",
  "only time would tell",
  "a beacon of",
  "ministrations",
  "a kaleidoscope of",
  "a whirlwind of",
  "a maelstrom of",
  "a cacophony of",
  "time (?:seemed to )?(?:stood|stand) still",
  "time seemed to (?:slow|stop)",
  `every fib(?:er|re) of ${POS} being`,
  "the realization (?:hit|struck|dawned|washed)",
  "a newfound",
  "unwavering",
  "for what (?:felt|seemed) like (?:an eternity|hours|forever)",
  `etched (?:on|into|across) ${POS} (?:face|features|memory)`,
  "navigat(?:e|ed|ing) the complexities",
  "embark(?:ed|ing)? on a journey",
  `${POS} (?:mind|thoughts) raced`,
  "(?:shadows|light|sunlight|firelight|candlelight) danced",
  "bathed in (?:a )?(?:golden|silver|soft|warm|pale|ethereal) (?:light|glow)",
  "ethereal",
  "like a physical blow",
  "an unreadable expression",
].map(phrase);
