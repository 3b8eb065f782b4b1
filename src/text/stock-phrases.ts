/**
 * Over 300 lines: the phrase families that mark prose as machine-written, each with its weight and a
 * note on where it comes from. lint.ts joins every pattern into one alternation.
 *
 * Stock phrases are the clichés instruction-tuned models reach for far more often than published fiction
 * does. Each pattern is a case-insensitive regex source, written as a `phrase()` template so an apostrophe
 * matches both ' and ’ and a space matches any run of whitespace, including a line break from wrapped text.
 *
 * Where they come from. Two published lists of phrases over-represented in model prose, with their
 * frequencies: antislop-sampler's slop_phrases list (2025-04-07; "took a deep breath" 28,671, "voice
 * barely above a whisper" 19,295, "couldn't shake the feeling" 8,483, "said, his voice low" 4,113…) and
 * slop-forensics' word, bigram and trigram lists ("said voice", "mind racing", "eyes narrowed", "jaw
 * tightened"…). The lists name exact strings; the families below generalise each one into the shapes it
 * takes ("said, her voice low", "asked, voice barely above", ", his voice tight"). Each family was then
 * measured on a fiction corpus (eight published novels, 1811–1926, and chapters by ten current models, in
 * 1,000–1,500-word chunks): the "human … / model …" figures in the comments are occurrences per 1,000
 * words in the tuning half of that corpus.
 *
 * Curated rather than exhaustive: a false alarm costs a needless rewrite, so a phrase is listed only when
 * it is rare in published fiction in the listed form, and it weighs more the rarer it is there. That is
 * why "electric" needs a context ("the air was electric"), "a flurry of", "hung in the air", "an air of"
 * and "little did" are absent (all common in Dickens, Wharton or Brontë), and single words such as
 * "nodded", "gaze" or "whispered" — several times likelier from a model, but ordinary in any novel — are
 * not listed at all.
 */

/** Possessives and subjects that the same cliché is written with. */
const POS = "(?:her|his|their|my|your|our)";
const SELF = "(?:herself|himself|themselves|myself|yourself|ourselves)";
const SUBJECT = "(?:she|he|they|i|we|you)";
const OBJ = "(?:her|him|them|me|us|you)";
/** Nouns of the bare absolute (", jaw tight"), and the words after them that make it a list or a clause instead. */
const BODY_PARTS =
  "(?:eyes|hands|head|arms|jaw|shoulders|gaze|fingers|breath|expression|face|mouth|lips|knuckles|chin|brow|" +
  "body|heart|smile|posture|tone|movements|features|legs|feet|teeth|throat|fists|spine|grip|pulse)";
const NOT_AFTER_BODY_PART =
  "(?:and|or|nor|but|of|to|that|which|who|was|were|is|are|had|has|have|did|do|does|could|would|should|will|" +
  "can|may|might|must|as|than|for|with|in|on|at|by|from|the|a|an|he|she|they|it|i|we|you|so|if|when|said|says)";

function phrase(source: string): string {
  return source.replace(/'/g, "['’]").replace(/ /g, "\\s+");
}

/** All families report under the lint rule "stock-phrase"; the label tells the kinds apart in notes. */
export interface PhraseFamily {
  /** Shown in the note of every hit: `${label} "matched words"`. */
  label: string;
  /** Density contribution of one hit. */
  weight: number;
  patterns: readonly string[];
}

function family(label: string, weight: number, patterns: string[]): PhraseFamily {
  return { label, weight, patterns: patterns.map(phrase) };
}

/**
 * Words a voice is described with after a comma. The commonest model dialogue tag is `"…," she said, her
 * voice low.` (antislop: "said, his voice low" 4,113, "said, her voice barely" 3,682, "said, her voice
 * steady" 2,830, "voice trembling slightly" 3,158, "said, his voice dripping" 1,669…).
 */
const VOICE_WORDS =
  "(?:low|lower|barely|soft|softer|softening|steady|steadier|quiet|quieter|flat|flatter|calm|tight|tighter|" +
  "rough|thick|hoarse|cold|colder|even|firm|sharp|sharper|trembling|shaking|shaky|cracking|cracked|breaking|" +
  "strained|tense|gentle|gentler|small|thin|raw|husky|gravelly|dripping|laced|filled|heavy|hollow|distant|" +
  "urgent|clipped|level|measured|hushed|edged|tinged|carrying|catching|rising|dropping|dropped|" +
  "almost|little|careful|dry|wry|warm|warmer|smooth|silky|sweet|devoid|echoing|betraying|gaining|cutting|" +
  "uncharacteristically|surprisingly|suddenly|now|still|no|a|an|like|just|more|less|too|so|ragged|" +
  "weary|tired|firmer|harsh|harsher|grim|brittle|sincere|earnest|honeyed|velvet|steel|steely|icy|amused|" +
  "resigned|quavering|wavering|unsteady|hard|harder)";

/** "barely above a whisper" and its kin (antislop: "voice barely above a whisper" 19,295, "voice barely audible" 9,460). */
const BARELY_AUDIBLE =
  "(?:barely|scarcely|hardly|little more than|no more than|just) (?:above )?(?:a )?(?:whisper|audible|breath|murmur)";

export const PHRASE_FAMILIES: readonly PhraseFamily[] = [
  // ----------------------------------------------------------------------------------------------
  // Dialogue tags. ", her voice low" and its kin: human 0 / model 1.3 per 1,000 words, the most
  // lopsided tell in the corpus. The comma before is required: "in a low voice" is not the tic.
  family("dialogue tag", 1.5, [
    `(?<=[,—–]\\s*)(?:${POS} )?voice (?:was )?(?:${BARELY_AUDIBLE}|${VOICE_WORDS})`,
    `(?<=[,—–]\\s*)(?:${POS} )?(?:words|tone) (?:barely|low|soft|quiet|flat|clipped|laced|dripping|heavy|thick|sharp|cold)`,
    `(?:voice|words) ${BARELY_AUDIBLE}`,
    "barely (?:above )?a whisper",
    "(?:voice|tone) (?:dripping|dripped|laced|thick|heavy|edged|tinged) with",
  ]),

  // ----------------------------------------------------------------------------------------------
  // Stock gestures: the body doing the feeling. Slop-forensics bigrams "deep breath", "mind racing",
  // "eyes widened", "eyes narrowed", "brow furrowed", "heart pounding", "jaw tightened" (trigrams
  // "took deep breath", "heart pounding chest", "breath caught throat", "eyes never leaving").
  // Human 0–0.03 / model 0.2–1.2 per 1,000 words for each group (breath, eyes, mind and heart, jaw).
  family("stock gesture", 1, [
    // antislop: "took a deep breath" 28,671, "taking a deep breath" 1,573, "deep breath, steeling" 2,042
    "(?:took|take|takes|taking|drew|draw|draws|drawing|sucked in|pulled in|dragged in) (?:a|another|one) (?:deep|long|slow|shaky|steadying|shuddering|ragged|calming|sharp|unsteady|trembling|careful|quick|shallow) breath",
    `(?:let out|released|releasing|exhaled|exhaling|expelled) (?:a|the) (?:long |slow |shaky |shuddering |ragged |deep |breath |sharp )?breath`,
    // "let out a breath she didn't know she was holding", the whole of it as one span
    `(?:(?:let out|released|exhaled) )?(?:a |the )?breath (?:that )?${SUBJECT} (?:didn't|did not|hadn't|had not) (?:know|known|realized?|realised?)(?: ${SUBJECT} (?:was|were|had been) holding)?`,
    `(?:${POS} )?breath (?:hitched|caught|stuttered|stilled|quickened|came in (?:short|ragged|shallow))`,
    // antislop: "couldn't shake the feeling" 8,483, "shake the feeling that something" 2,347
    "(?:couldn't|could not|can't|cannot|couldn't quite) shake (?:the|a|this|that) (?:feeling|sense|thought|image|impression|memory|notion)",
    "couldn't help but",
    // slop-forensics "mind racing", "mind raced", "mind reeling"; antislop "mind racing with questions" 1,730
    `(?:${POS} )?(?:mind|thoughts) (?:was |were |already )?(?:racing|raced|races|reeling|reeled|whirling|whirled|spinning|spun|churning|churned|buzzing|scrambling|scrambled)`,
    // antislop "heart pounding in my chest" 6,559, "heart skipped a beat" 2,889
    "(?:heart|pulse) (?:pounding|pounded|hammering|hammered|thundering|thundered|racing|raced|thudding|thudded|drumming|skipped|stuttered|lurched|leapt|quickened|slammed)",
    `${POS} heart skipped a beat`,
    // "eyes widened/narrowed" and the gaze that flicks, darts and lingers
    `(?:eyes|gaze) (?:widened|narrowed|widening|narrowing|flicked|flicking|flickered|darted|darting|softened|hardened|snapped|locked|lingered|lingering|swept|sweeping|scanned|scanning|bored into|never leaving|never left)`,
    "eyes (?:wide|wet) with",
    "(?:eyes|gaze) (?:sparkled|glinted|twinkled|danced|gleamed) with",
    `(?<=,\\s*)(?:${POS} )?(?:eyes|gaze) (?:wide|narrowed|narrowing|locked|never|searching|scanning|darting|flicking|unreadable|hard|cold|sharp|steady|intent|brimming|trained|sweeping|lingering|meeting)`,
    `brows? (?:furrowed|furrowing|knitted|creased|pinched)`,
    // slop-forensics "jaw tightened", "knuckles white", "swallowed hard"
    `(?:jaw|jaws|throat|chest|stomach|gut|grip|fists?|shoulders) (?:tightened|tightening|clenched|clenching|tensed|tensing|knotted|twisted|dropped|lurched|churned|constricted|stiffened|slumped|sagged|squared|hunched)`,
    "knuckles (?:white|whitening|turning white|went white)",
    "swallowed hard",
    `(?:a |the )?corners? of ${POS} (?:mouth|lips) (?:twitched|lifted|curved|quirked|tugged|turned)`,
    "(?:a smile|the smile|a grin) (?:tugg(?:ed|ing)|playing|played|spreading|spread) (?:at|on|across)",
    "tugg(?:ed|ing) at the corners of",
    "(?:a )?(?:shivers?|chills?|shudders?) (?:ran|run|running|went|crept|crawled|raced|shot|snaked|traced|skittered) (?:up|down|along|through)",
    `(?:sent|send|sending) (?:a )?(?:shivers?|chills?|shudders?) (?:up|down|through)`,
    "blood (?:ran|run|running|turned) (?:cold|to ice)",
    `(?:a )?lump (?:formed )?in ${POS} throat`,
    `breath caught in ${POS} throat`,
    `steeled ${SELF}`,
    // The bare absolute after a comma, with no possessive: "He leaned on the rail, arms folded." /
    // "She waited, jaw tight, eyes on the door." Human 0.03 / model 2.4 per 1,000 words (o3, Claude,
    // Grok, GPT-4o most); published novels write "his arms folded". (", voice low" is a dialogue tag.)
    `(?<=,\\s*)${BODY_PARTS} (?!${NOT_AFTER_BODY_PART}(?![\\p{L}]))\\p{L}+`,
    `tilted ${POS} head|head tilted`,
    `(?:raised|arched|lifted|quirked) (?:an|one|a) (?:\\p{L}+ )?(?:eyebrow|brow)|(?:eyebrow|brow)s? (?:arched|rose|lifted|quirked|shot up|climbed)`,
    "smile (?:that )?(?:didn't|did not|never|not) (?:quite )?reach(?:ed|ing)? (?:her|his|my|their|the) eyes",
    "movements (?:were )?(?:slow|deliberate|fluid|precise|unhurried|economical|measured|graceful|efficient|elegant)",
    // "took a step forward/back/closer" (antislop 2,761 / 2,922 / 2,358); "stepped forward" (bigram)
    "(?:took|take|takes|taking) (?:a|another|one) (?:small |slow |hesitant |tentative |cautious |careful |half |shaky |deliberate )?step (?:forward|back|backward|closer|toward|towards)",
  ]),

  // ----------------------------------------------------------------------------------------------
  // Abstract and ornamental diction: "the weight of…" (human 0 / model 0.25), "a testament to",
  // "tapestry", "symphony", "delve" (antislop probability list), "something else, something older".
  family("stock phrase", 1, [
    "a testament to",
    "(?:a )?(?:rich )?tapestry of",
    "delv(?:e|ed|es|ing) (?:deep(?:er)? )?into",
    "a dance of",
    "(?:an )?intricate dance",
    "the weight of the world",
    `the (?:weight|gravity) of ${POS} words`,
    // antislop "could feel the weight" 3,584, "heart heavy with the weight" 1,393
    "the (?:full |sheer |crushing |quiet |heavy )?weight of (?!the world)(?:it|this|that|everything|what|the|his|her|their|my|our|your|a|an|all|those|these|years|history|responsibility|expectation|grief|guilt|memory|knowing|silence|centuries|decades)",
    "a symphony of",
    "an orchestra of",
    "palpable",
    "the air (?:was |felt |grew |hung |seemed )?(?:thick|heavy|heavier|thicker|dense|charged|alive) with",
    "hung heavy in the air",
    "(?:words|question|silence|accusation) hung (?:in the air|between them)",
    "a mixture of (?:fear|awe|excitement|relief|anger|curiosity|surprise|confusion|amusement|hope|guilt|dread)",
    "a cocktail of",
    "eyes that held",
    "a flicker of",
    "flicker(?:ed)? of (?:something|recognition|emotion|hope|fear|doubt|amusement|annoyance)",
    "unspoken",
    "(?:was|felt|seemed|grew) electric",
    "electric (?:tension|charge|current|energy|silence|anticipation)",
    "electricity (?:between|crackled|hummed|coursed)",
    // "the silence stretched", "the room fell silent" (antislop 3,931); human 0 / model 0.1
    "the silence (?:stretched|settled|thickened|lengthened|pressed|that followed|between them|grew|hung|was deafening)",
    "(?:a|an) (?:heavy|thick|oppressive|deafening|pregnant|uneasy|comfortable|companionable) silence",
    "(?:the )?(?:room|world|crowd|table) (?:fell|went) (?:silent|quiet|still)",
    "a wave of (?:relief|guilt|nausea|emotion|panic|dread|exhaustion|sadness|grief|warmth|calm|fear|heat|cold|dizziness|anger|shame)",
    `washed over ${OBJ}`,
    "a pang of",
    "felt a (?:surge|rush|jolt|stab|twinge|spark|pang|flicker|knot|prickle|glimmer) of",
    "a (?:surge|jolt|glimmer|twinge) of",
    // antislop "growing sense of unease" 2,951, "felt a strange sense" 3,608, "renewed sense of purpose" 2,597
    "(?:a|the) (?:growing |strange |sudden |deep |profound |renewed |newfound |creeping |familiar |sinking )?sense of (?:dread|unease|foreboding|purpose|belonging|peace|calm|relief|wonder|urgency|loss|pride|accomplishment|déjà vu)",
    "the ghost of a smile",
    `a (?:mischievous |knowing |playful )?glint in ${POS} eyes?`,
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
    "the realization (?:hit|struck|dawned|washed|settled)",
    "a newfound",
    "unwavering",
    "for what (?:felt|seemed) like (?:an eternity|hours|forever)",
    "felt like an eternity",
    `etched (?:on|into|across|in) ${POS} (?:face|features|memory|mind)`,
    "navigat(?:e|ed|ing) the complexities",
    "embark(?:ed|ing)? on a journey",
    "(?:shadows|light|sunlight|firelight|candlelight|dust motes) danced",
    // antislop "casting long shadows" 9,376, "long shadows across" 6,563, "casting a warm glow" 2,706
    "cast(?:ing|s)? (?:long |deep |dancing |flickering |eerie |jagged |skeletal )+shadows",
    "cast(?:ing|s)? (?:a|an) (?:warm|golden|eerie|soft|pale|sickly|orange|amber|silver|ethereal|faint) (?:glow|light|sheen)",
    "bathed in (?:a )?(?:golden|silver|soft|warm|pale|ethereal) (?:light|glow)",
    "ethereal",
    "like a physical blow",
    "an unreadable expression",
    "something (?:else|older|deeper|darker|colder|heavier|more) (?:entirely|altogether)",
    "something akin to",
    "something else, something",
    "something (?:shifted|flickered|cracked|stirred|tightened|twisted|loosened|settled|unspoken)",
    // "the (faint|low|distant) hum of": human 0 / model 0.25 per 1,000 words
    "(?:the|a) (?:faint |low |soft |distant |constant |steady |rhythmic |quiet |electric )?(?:hum|thrum|whir|whirr|drone|thrumming|humming) of",
    "(?:a|the) (?:faint|low|soft|distant|constant|steady|rhythmic) (?:hum|thrum|whir|whirr|drone|rumble|buzz|crackle|shimmer)",
    "smell(?:ed)? of (?:ozone|petrichor|damp earth|old paper|antiseptic)",
    "(?:scent|smell|tang) of (?:ozone|petrichor|damp earth|old paper|antiseptic|decay|copper)",
    "ready to face whatever",
    "whatever (?:lay|came|awaited) (?:ahead|next)",
    "(?:the|a) world (?:held|seemed to hold) its breath",
    "(?:maybe|perhaps), just (?:maybe|perhaps)",
    "(?:for now|maybe), that was enough",
    "that was enough\\. (?:for now|it had to be)",
  ]),

  // ----------------------------------------------------------------------------------------------
  // Over-represented in model prose but also in published fiction ("It was as if I had to make up my
  // mind", Dickens): half weight, so they only count alongside other tells.
  family("stock phrase", 0.5, ["it was as if", "a mix of", "in that moment", "for a (?:long )?beat"]),
];
