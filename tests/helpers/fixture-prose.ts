/**
 * A deterministic prose generator for validation and report fixtures: plain narrative sentences whose
 * first words rotate, so the voice lint sees no repeated openings, no dashes, no tricolons and no stock
 * phrases. It names the cast "Mara Quill" and "Tobias Fenn" exactly, and its vocabulary avoids the words
 * of the motifs "the brass compass", "a red thread" and "salt on the tongue", so a motif is present only
 * where a test puts it. The fixed words of each template are function words and names, and every
 * template has four slots or more, so the book-level repetition checks see no phrase, opening or closing
 * repeated beyond chance in a book of a few dozen scenes, and no gesture at all.
 */
import { countWords } from "../../src/text/words";
import { mulberry32 } from "./random";

const POOLS = {
  adj: (
    "grey wet narrow old quiet heavy pale crooked small warm cold dry dusty faded painted cracked bent " +
    "clean muddy rusty green blue yellow white dark bright plain spare wooden tin chipped battered patched " +
    "polished mossy sandy stiff damp brown black"
  ).split(" "),
  noun: (
    "lamp kettle ledger rope boat window crate bell gate basket bucket ladder lantern barrel net oar bench " +
    "stool jug bottle cup plate spoon candle blanket curtain rug chair drawer box key broom shovel sack " +
    "tarpaulin flag sign clock kite trunk"
  ).split(" "),
  place: (
    "harbour chapel market quay bakery boatyard library station school inn dairy forge mill pier landing " +
    "laundry chandlery smithy granary house church hall yard barn wharf lighthouse tavern warehouse cottage shed"
  ).split(" "),
  time: (
    "noon dusk dawn midnight supper breakfast lunch morning evening winter spring summer autumn harvest " +
    "sunrise sunset nightfall daybreak teatime midday midsummer midwinter twilight moonrise haymaking " +
    "lambing evensong matins curfew"
  ).split(" "),
  furniture: (
    "mantel dresser windowsill sideboard shelf table bench counter cupboard ledge sill doorstep hearth " +
    "workbench trestle bookcase"
  ).split(" "),
  garment: (
    "coat jacket cardigan oilskin apron shawl smock jersey waistcoat cloak frock pinafore mackintosh " +
    "overcoat blouse"
  ).split(" "),
  weather: "rain fog drizzle spray snow sleet hail mist frost wind dew smoke soot tide damp".split(" "),
  animal:
    "gull crow dog cat heron fox goat goose hen pigeon rat sparrow robin magpie duck swan mouse hare owl wren".split(
      " ",
    ),
  rest: (
    "waited slept sat stood wandered dozed paced lingered scratched settled perched hopped circled nested " +
    "rested watched called cried barked squawked shivered hid dug sniffed crouched lay loitered trotted " +
    "prowled idled"
  ).split(" "),
  verb: (
    "lifted carried mended painted counted stacked wrapped moved cleaned fixed polished swept tied checked " +
    "opened closed emptied filled dried sorted weighed sold bought borrowed hid found dropped raised lowered " +
    "turned"
  ).split(" "),
} as const;

type Pick = (pool: keyof typeof POOLS) => string;

/**
 * Every template starts with a different word, and paragraphs take them in rotation. Two sentences from
 * one template share its fixed words; with at least six slots against at most seven fixed words, even two
 * slots in common leave them under the 0.7 similarity at which openings and closings count as alike. Any
 * four words in a row that hold two content words hold two slots, so no phrase repeats by design.
 */
const TEMPLATES: ((p: Pick) => string)[] = [
  (p) =>
    `The ${p("adj")} ${p("noun")} by the ${p("adj")} ${p("place")} had been ${p("adj")} since ${p("time")}.`,
  (p) =>
    `A ${p("adj")} ${p("noun")} was on the ${p("adj")} ${p("furniture")} in the ${p("adj")} ${p("place")}.`,
  (p) =>
    `Her ${p("adj")} ${p("garment")} was ${p("adj")} from the ${p("adj")} ${p("weather")} of ${p("time")}.`,
  (p) =>
    `His ${p("adj")} ${p("noun")} and ${p("noun")} were by the ${p("adj")} ${p("place")} until ${p("time")}.`,
  (p) =>
    `Nobody at the ${p("adj")} ${p("place")} had ${p("verb")} the ${p("adj")} ${p("noun")} since ${p("time")}.`,
  (p) =>
    `Someone had ${p("verb")} a ${p("adj")} ${p("noun")} near the ${p("adj")} ${p("place")} at ${p("time")}.`,
  (p) =>
    `Outside the ${p("adj")} ${p("place")} a ${p("adj")} ${p("animal")} ${p("rest")} by the ${p("noun")}.`,
  (p) =>
    `Mara ${p("verb")} the ${p("adj")} ${p("noun")} and ${p("verb")} the ${p("noun")} on the ${p("furniture")}.`,
  (p) =>
    `Tobias Fenn ${p("verb")} a ${p("adj")} ${p("noun")} from the ${p("adj")} ${p("place")} before ${p("time")}.`,
  (p) =>
    `Everything in the ${p("adj")} ${p("place")} smelled of ${p("adj")} ${p("noun")} and ${p("adj")} ${p("weather")}.`,
  (p) => `By ${p("time")} the ${p("adj")} ${p("noun")} by the ${p("adj")} ${p("place")} was ${p("adj")}.`,
  (p) =>
    `Once the ${p("adj")} ${p("noun")} was ${p("adj")} she ${p("verb")} the ${p("noun")} to the ${p("adj")} ${p("place")}.`,
];

/** The seed scrambled first, so neighbouring seeds (one per scene) start far apart. */
function random(seed: number): () => number {
  return mulberry32(Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1));
}

/** Paragraphs of four sentences until at least `words` words. */
export function prose(seed: number, words: number): string {
  const next = random(seed);
  const pick: Pick = (pool) => POOLS[pool][Math.floor(next() * POOLS[pool].length)]!;
  const paragraphs: string[] = [];
  let count = 0;
  let template = Math.floor(next() * TEMPLATES.length);
  while (count < words) {
    const sentences = Array.from({ length: 4 }, () => TEMPLATES[template++ % TEMPLATES.length]!(pick));
    const paragraph = sentences.join(" ");
    paragraphs.push(paragraph);
    count += countWords(paragraph);
  }
  return paragraphs.join("\n\n");
}
