// Over 300 lines: the deterministic text tools (words, lint, names, meta-text, motifs), one describe each.
import { describe, expect, it } from "vitest";
import { truncate } from "../src/text/discord";
import { thousands } from "../src/text/format";
import { describeHits, LINT_THRESHOLD, type LintReport, lintProse } from "../src/text/lint";
import { endsMidSentence, endsWithTerminalPunctuation, findMetaText, newMetaText } from "../src/text/meta";
import { editDistance, findNameVariants } from "../src/text/names";
import { countWords, lastWords, splitParagraphs, truncateWords } from "../src/text/words";

// Ordinary narrative prose, written for these tests: some dialogue, one dash, a natural list or two.
const CLEAN_MODERN = `The ferry was late again. Ruth sat on the bench outside the ticket office with her bag between her feet and watched the gulls work the bins by the car park. A boy in a yellow coat was feeding them chips one at a time, and his mother had given up telling him not to.

At ten past four the announcement came over the speaker, first in Welsh and then in English. Weather in the strait. A delay of at least an hour. Nobody around her seemed surprised. An old man in a flat cap folded his newspaper into quarters and put it in his pocket, as if he had known all along and had only been waiting for someone to say it out loud.

Ruth bought a tea from the kiosk and carried it back to the bench. It was too hot to drink—she held it in both hands and let the steam fog her glasses. She thought about ringing her brother to tell him she would miss dinner. Then she thought about what he would say, and decided to wait until she was on the boat.

"You going across for the funeral?" the old man asked.

She looked at him. He had a kind, weathered face and one eyebrow that stuck up at an angle.

"How did you know?"

"Black shoes. Nobody wears good shoes to the island unless somebody's died." He nodded at her feet. "Who was it?"

"My aunt. Elsie Morgan."

"Ah." He was quiet for a while. "She used to run the post office in Aberdaron. Sold me a stamp with the Queen upside down once and swore blind it was worth money."

"Was it?"

"Not a penny." He smiled. "But I kept it anyway."

The wind picked up and rattled the flags over the harbour wall. Out past the breakwater the sea had turned the colour of slate, and the waves were breaking white where the current met the tide. Ruth drank some of her tea. It had cooled enough now, though it tasted mostly of the paper cup.

When the boat finally came in, the old man stood and offered her his arm, and she took it, more for his sake than for hers.`;

// A passage in the manner of a nineteenth-century novel, also written for these tests.
const CLEAN_PERIOD = `It was towards the end of October, in that season when the lanes about Hollins Cross are deep in leaves and the evenings close in before the lamps are lit, that Mr. Abel Crane first came to lodge at the house of the widow Prentice. He arrived by the carrier's cart from Ashby with one trunk, a walking-stick, and a parcel of books tied up in string; and he paid a month in advance, which was a thing Mrs. Prentice had not known a lodger to do in eleven years of letting rooms.

He was a man of perhaps fifty, tall and somewhat stooped, with a long grave face that was redeemed by a very pleasant smile. He spoke little at table. In the mornings he walked out along the river as far as the mill and back again, whatever the weather, and in the afternoons he sat in the front parlour with his books and a great many sheets of paper, upon which he wrote in a small hand until the light failed. What he wrote he did not say, and Mrs. Prentice, though she was curious, was too proud to ask.

Her daughter Lucy had fewer scruples. She was seventeen, and had lately decided that the village was a dull place and that nothing of interest would ever happen in it. A lodger who wrote all day was therefore a mystery to be solved, and she set about solving it with great energy. She carried in his tea herself, lingered over the fire, and asked him questions about London, where she supposed he must have lived.

"I have lived in a good many places," he told her, "and London was the least agreeable of them."

"Then why do you write about it?"

He looked up at that, and for a moment she thought she had offended him. But he only laughed, and set down his pen, and said that she had a quick eye and would make a very good lawyer, if the law were ever to admit young women, which he doubted it would in his lifetime.`;

// Machine tics on purpose: stock phrases, "She…She…She…", an em-dash storm, tricolons, "not X, but Y".
const TIC_LADEN = `She stood at the window, her heart pounding. She knew it was a testament to everything they had built — a tapestry of memories, hopes, and fears. She couldn't help but feel the weight of the world settle on her shoulders. It was not fear, but something older. The air was thick with unspoken words — palpable, electric, and alive. Her voice was barely above a whisper — a flicker of defiance — as she steeled herself for what came next. The room was cold, dark, and silent. The night was long, strange, and restless.`;

// Machine-flavoured without a single listed stock phrase: reflexive tricolons, dashes, "wasn't X, but Y".
const TAVERN = `The tavern was crowded, loud, and warm. Elara pushed through the press of bodies toward the bar, her cloak still damp from the rain. Somewhere near the hearth a fiddler was playing a reel, and the music wound through the room like smoke.

She found Tomas at a corner table, nursing a tankard. He looked up as she approached — and for a moment, something unreadable crossed his face.

"You came," he said.

"I said I would." She slid onto the bench opposite him. "Though I'm starting to wonder why."

He pushed a folded paper across the table. It wasn't a map, but something closer to a confession — names, dates, and places, written in his cramped hand. Elara read it twice. The names were ones she knew: merchants, guardsmen, and at least one member of the council.

"Where did you get this?"

"Does it matter?" He leaned back, and the firelight caught the scar along his jaw. "What matters is what you do with it."

Outside, the rain had thickened into a steady downpour. Elara folded the paper and tucked it into her coat. She knew, with a certainty that settled in her bones, that nothing would be the same after tonight — and that there was no turning back.`;

function hitsOf(report: LintReport, rule: string) {
  return report.hits.filter((hit) => hit.rule === rule);
}

describe("countWords", () => {
  it.each([
    ["", 0],
    ["   \n\t ", 0],
    ["one", 1],
    ["Don't stop—it's fine.", 4],
    ["she’d rather not", 3],
    ["a well-known, self-made man", 4],
    ["word—word", 2],
    ["word -- word", 2],
    ["word--word", 2],
    ["pages 10–20", 3],
    ["“Hello,” she said. ‘Quite.’", 4],
    ["It cost $3.50 for 1,000 sheets at 10:30 a.m.", 9],
    ["e.g. the U.S.A. itself", 4],
    ["naïve café, Zoë's résumé", 4],
    ["Привет, мир", 2],
    ["rock 'n' roll", 3],
    ["... !!! — ???", 0],
    ["students' books", 2],
  ])("%j has %i words", (text, expected) => {
    expect(countWords(text)).toBe(expected);
  });

  it("counts a 120k-word string", () => {
    const text = "The well-read fox jumped—didn't it? ".repeat(20_000);
    expect(countWords(text)).toBe(120_000);
  });

  it("gives the same count for a long text counted again, and for one that differs by a word", () => {
    const text = "The keeper climbed the stair. ".repeat(500);
    expect(countWords(text)).toBe(2_500);
    expect(countWords(text)).toBe(2_500);
    expect(countWords(`${text}Again`)).toBe(2_501);
    expect(countWords(text.slice(0, -7))).toBe(2_499);
  });
});

describe("thousands", () => {
  it.each([
    [0, "0"],
    [999, "999"],
    [1_000, "1,000"],
    [60_000, "60,000"],
    [1_234_567, "1,234,567"],
    [-4_500, "-4,500"],
    [999.6, "1,000"],
  ])("%d is written %s", (n, expected) => {
    expect(thousands(n)).toBe(expected);
  });
});

describe("splitParagraphs", () => {
  it("splits on blank lines, trims, drops empties", () => {
    const text = "\n\n  First line\nstill first.  \n\n\n   \nSecond.\r\n\r\nThird.\n  \n";
    expect(splitParagraphs(text)).toEqual(["First line\nstill first.", "Second.", "Third."]);
  });

  it("returns nothing for blank text", () => {
    expect(splitParagraphs(" \n\n \n")).toEqual([]);
  });
});

describe("lastWords", () => {
  it("returns the tail verbatim from a word boundary", () => {
    const text = "It rained all night.\n\nIn the morning, she left—quietly, without a word.  \n";
    expect(lastWords(text, 5)).toBe("left—quietly, without a word.");
    expect(lastWords(text, 9)).toBe("In the morning, she left—quietly, without a word.");
    expect(lastWords(text, 11)).toBe("all night.\n\nIn the morning, she left—quietly, without a word.");
  });

  it("keeps an opening quote glued to the first word", () => {
    expect(lastWords("He said, “Go home now.”", 3)).toBe("“Go home now.”");
  });

  it("returns the whole text when it is shorter than n, and nothing for n <= 0", () => {
    expect(lastWords("  just three words ", 10)).toBe("just three words");
    expect(lastWords("some words", 0)).toBe("");
    expect(lastWords("", 5)).toBe("");
  });

  it("is a suffix of the original text", () => {
    const text = CLEAN_MODERN;
    const tail = lastWords(text, 40);
    expect(text.trimEnd().endsWith(tail)).toBe(true);
    expect(countWords(tail)).toBe(40);
  });
});

describe("truncateWords", () => {
  it("keeps the first n words verbatim and marks the cut", () => {
    expect(truncateWords("One, two; three four.", 2)).toBe("One, two…");
    expect(truncateWords("One, two; three four.", 2, "")).toBe("One, two");
  });

  it("returns the text unchanged when it has no more than n words", () => {
    expect(truncateWords("One, two.", 2)).toBe("One, two.");
    expect(truncateWords("One, two.", 5)).toBe("One, two.");
    expect(truncateWords("One", 0)).toBe("");
  });
});

describe("lintProse on machine tics", () => {
  const report = lintProse(TIC_LADEN);

  it("is over the threshold", () => {
    expect(report.words).toBe(countWords(TIC_LADEN));
    expect(report.density).toBeGreaterThan(LINT_THRESHOLD);
  });

  it("flags each stock phrase at its exact offsets", () => {
    const found = hitsOf(report, "stock-phrase").map((hit) => TIC_LADEN.slice(hit.start, hit.end));
    expect(found).toEqual([
      "heart pounding",
      "a testament to",
      "a tapestry of",
      "couldn't help but",
      "the weight of the world",
      "The air was thick with",
      "unspoken",
      "palpable",
      "barely above a whisper",
      "a flicker of",
      "steeled herself",
    ]);
    const testament = hitsOf(report, "stock-phrase")[1]!;
    expect(testament.start).toBe(TIC_LADEN.indexOf("a testament to"));
    expect(testament.note).toBe('stock phrase "a testament to"');
    expect(testament.excerpt).toContain("a testament to everything");
  });

  it("flags the run of sentences opening with She", () => {
    const [run, ...others] = hitsOf(report, "repeated-opening");
    expect(others).toEqual([]);
    expect(run!.start).toBe(0);
    expect(TIC_LADEN.slice(run!.start, run!.end)).toMatch(/^She .* She .* She$/s);
    expect(run!.note).toBe('3 sentences in a row open with "She"');
  });

  it("flags every em-dash once there are too many", () => {
    const dashes = hitsOf(report, "em-dash");
    const expected = [...TIC_LADEN.matchAll(/—/g)].map((m) => m.index);
    expect(dashes.map((hit) => hit.start)).toEqual(expected);
    expect(dashes.every((hit) => TIC_LADEN.slice(hit.start, hit.end) === "—")).toBe(true);
  });

  it("flags the tricolons", () => {
    const lists = hitsOf(report, "tricolon").map((hit) => TIC_LADEN.slice(hit.start, hit.end));
    expect(lists).toEqual([
      "memories, hopes, and fears",
      "palpable, electric, and alive",
      "cold, dark, and silent",
      "long, strange, and restless",
    ]);
  });

  it('flags "not X, but Y"', () => {
    const [hit] = hitsOf(report, "not-but");
    expect(TIC_LADEN.slice(hit!.start, hit!.end)).toBe("was not fear, but");
  });

  it("counts hits per rule", () => {
    expect(report.byRule).toEqual({
      "stock-phrase": 11,
      "repeated-opening": 1,
      "em-dash": 4,
      tricolon: 4,
      "not-but": 1,
    });
  });

  it("describes the hits for a rewrite prompt, capped and mixing rules", () => {
    const all = describeHits(report, 100).split("\n");
    expect(all).toHaveLength(report.hits.length);
    expect(all).toContain(
      '- stock phrase "a testament to": "…pounding. She knew it was a testament to everything they had built —…"',
    );
    const capped = describeHits(report, 5).split("\n");
    expect(capped).toHaveLength(6);
    expect(capped.at(-1)).toBe(`- …and ${report.hits.length - 5} more of the same kinds`);
    const rulesShown = new Set(
      capped.slice(0, 5).map((line) => report.hits.find((hit) => line.startsWith(`- ${hit.note}:`))?.rule),
    );
    expect(rulesShown.size).toBe(5);
  });
});

describe("lintProse on plain prose", () => {
  it.each([
    ["modern", CLEAN_MODERN],
    ["period", CLEAN_PERIOD],
    ["both", `${CLEAN_MODERN}\n\n${CLEAN_PERIOD}`],
  ])("raises no false alarms on %s prose", (_name, text) => {
    const report = lintProse(text);
    expect(report.words).toBeGreaterThan(300);
    expect(hitsOf(report, "stock-phrase")).toEqual([]);
    expect(hitsOf(report, "not-but")).toEqual([]);
    expect(report.density).toBeLessThan(LINT_THRESHOLD / 2);
  });

  it("lets one idiom through but not a scene built from tics", () => {
    const withIdiom = CLEAN_MODERN.replace(
      "He was quiet for a while.",
      "A flicker of grief crossed his face.",
    );
    const idiom = lintProse(withIdiom);
    expect(idiom.byRule["stock-phrase"]).toBe(1);
    expect(idiom.density).toBeLessThan(LINT_THRESHOLD);
    const tavern = lintProse(TAVERN);
    expect(tavern.byRule["stock-phrase"]).toBeUndefined();
    expect(tavern.byRule).toMatchObject({ tricolon: 3, "em-dash": 3, "not-but": 1 });
    expect(tavern.density).toBeGreaterThan(2 * LINT_THRESHOLD);
  });

  it("tolerates dashes and tricolons within budget", () => {
    const text = `${CLEAN_MODERN} She was tired, cold, and hungry.`;
    const report = lintProse(text);
    expect(hitsOf(report, "em-dash")).toEqual([]);
    expect(hitsOf(report, "tricolon")).toEqual([]);
  });

  it("ignores abbreviations and dialogue tags when finding sentence openings", () => {
    const text = 'Mr. Crane left. Mr. Abel sat. "Go!" she said. She ran. She hid. Then she slept.';
    expect(hitsOf(lintProse(text), "repeated-opening")).toEqual([]);
  });

  it("flags paragraphs that keep opening with the same two words", () => {
    const text = ["She turned away.", "He followed.", "She turned back.", "She turned again."].join("\n\n");
    const hits = hitsOf(lintProse(text), "repeated-paragraph-opening");
    expect(hits.map((hit) => text.slice(hit.start, hit.end))).toEqual(["She turned"]);
    expect(hits[0]!.start).toBe(text.lastIndexOf("She turned"));
  });

  it("reports zero density for empty text", () => {
    expect(lintProse("")).toEqual({ words: 0, hits: [], density: 0, byRule: {} });
  });

  it("completes on a 120k-word manuscript", () => {
    const book = Array.from({ length: 150 }, () => `${CLEAN_MODERN}\n\n${CLEAN_PERIOD}\n\n${TIC_LADEN}`).join(
      "\n\n",
    );
    const report = lintProse(book);
    expect(report.words).toBeGreaterThan(120_000);
    expect(report.hits.length).toBeGreaterThan(0);
  });
});

describe("findNameVariants", () => {
  const cast = ["Mara Quill", "Tobias Reed", "Dr. Ilse Marov"];
  const text = [
    "Mara Quill walked in. The rain had stopped. Marra sat down beside Tobias.",
    "In March the Marble Arch was closed, so Mara Quil took the bus. Quil's bag was heavy.",
    "Then Reid laughed. Mara's coat was wet. The Quills were late, as ever. Marov nodded.",
  ].join("\n\n");
  const variants = findNameVariants(text, cast);
  const byVariant = new Map(variants.map((v) => [v.variant, v]));

  it("finds misspellings with their canonical spelling, count and offsets", () => {
    expect(byVariant.get("Marra")).toEqual({
      canonical: "Mara",
      castName: "Mara Quill",
      variant: "Marra",
      count: 1,
      offsets: [text.indexOf("Marra")],
    });
    const quil = byVariant.get("Quil")!;
    expect(quil.canonical).toBe("Quill");
    expect(quil.count).toBe(2);
    expect(quil.offsets).toEqual([text.indexOf("Quil "), text.indexOf("Quil'")]);
    expect(byVariant.get("Reid")?.canonical).toBe("Reed");
  });

  it("ignores exact names, other words and other cast members", () => {
    for (const word of [
      "Mara",
      "Quill",
      "Quills",
      "Marble",
      "March",
      "The",
      "Then",
      "Tobias",
      "Marov",
      "In",
    ]) {
      expect(byVariant.has(word), word).toBe(false);
    }
    expect(variants).toHaveLength(3);
  });

  it("handles a 120k-word text", () => {
    const book = `${text}\n\n${CLEAN_MODERN}\n\n${CLEAN_PERIOD}\n\n`.repeat(150);
    const found = findNameVariants(book, cast);
    expect(found.find((v) => v.variant === "Marra")?.count).toBe(150);
  });

  it("measures edit distance with transpositions", () => {
    expect(editDistance("mara", "marra")).toBe(1);
    expect(editDistance("mara", "mraa")).toBe(1);
    expect(editDistance("quill", "quil")).toBe(1);
    expect(editDistance("mara", "march")).toBe(2);
    expect(editDistance("kitten", "sitting", 1)).toBe(2);
  });
});

describe("findMetaText", () => {
  it.each([
    ["Here is the revised scene:\n\nShe walked in.", "assistant preamble"],
    ["Here's the rewritten version with tighter pacing.\n\nShe walked in.", "assistant preamble"],
    ["Sure, here you go.\n\nShe walked in.", "assistant opening"],
    ["Certainly! She walked in.", "assistant opening"],
    ["Scene 12: The Ford\n\nShe walked in.", "scene or chapter label"],
    ["Chapter 3:\nShe walked in.", "scene or chapter label"],
    ["She walked in.\n\nAs an AI, I cannot feel rain.", "AI self-reference"],
    ["She walked in.\n\nI am only a language model.", "AI self-reference"],
    ["She walked in.\n\nI hope this revision captures the tone.", "sign-off"],
    ["## The Ford\n\nShe walked in.", "Markdown heading"],
    ["**Revised scene**\n\nShe walked in.", "Markdown bold label"],
    ["**Revised scene:** She walked in.", "Markdown bold label"],
    ["```\nShe walked in.\n```", "code fence"],
    ["She walked in. [TODO: add the storm]", "leftover marker"],
    ["She walked in. [insert description of the ford]", "leftover marker"],
    ["She walked in past the TK sign.", "leftover marker"],
    ["<scene>She walked in.</scene>", "leftover marker"],
    ["She walked in. (word count: 1,200)", "word-count note"],
    ["She walked in.\n\nWord count: 1200", "word-count note"],
  ])("flags %j", (text, reason) => {
    const reasons = findMetaText(text);
    expect(reasons.some((r) => r.startsWith(`${reason}: `))).toBe(true);
  });

  it("quotes what it found", () => {
    expect(findMetaText("Here is the revised scene:\n\nShe walked in.")).toEqual([
      'assistant preamble: "Here is the revised scene"',
    ]);
  });

  it("leaves ordinary prose alone", () => {
    const prose = [
      "The scene at the harbour was chaos. She walked the length of chapter and verse in her head.",
      '"Here is the key," he said, and dropped it into her palm.',
      "“I hope this works,” Mara said. “Sure, it will.”",
      "Of course, the rain had not stopped. Part of her wanted to stay.",
      'He read the first chapter twice. "Here is the scene I meant," he said.',
      "She was talking, of course, about the language of flowers.",
      CLEAN_MODERN,
      CLEAN_PERIOD,
    ].join("\n\n");
    expect(findMetaText(prose)).toEqual([]);
  });

  it("ignores chatter-like words spoken by characters, but not after an unclosed quote ends", () => {
    expect(findMetaText('"I hope this helps," she said, handing him the lamp.')).toEqual([]);
    expect(findMetaText("“As an AI, I can’t lie,” the robot said.")).toEqual([]);
    expect(findMetaText('"Wait.\n\nI hope this helps with the pacing.')).toEqual([
      'sign-off: "I hope this helps"',
    ]);
  });

  it("reports only meta-text the revision introduced", () => {
    const original = "The station AI called itself a language model. She walked in.";
    expect(newMetaText(original, `${original} She sat.`)).toEqual([]);
    expect(newMetaText(original, `Here is the revised scene:\n\n${original}`)).toHaveLength(1);
  });
});

describe("endsWithTerminalPunctuation", () => {
  it.each([
    ["She left.", true],
    ["Did she?", true],
    ["Go!", true],
    ["And then…", true],
    ["And then...", true],
    ["“Go home.”", true],
    ["'Go home.'", true],
    ["He said (quietly.)", true],
    ["*The end.*", true],
    ["She left.  \n\n", true],
    ["She turned to the door and", false],
    ["“But I—”", false],
    ["She left,", false],
    ["", false],
  ])("%j → %s", (text, expected) => {
    expect(endsWithTerminalPunctuation(text)).toBe(expected);
    expect(endsMidSentence(text)).toBe(!expected);
  });
});

describe("truncate", () => {
  it("leaves short text alone", () => {
    expect(truncate("Hello", 5)).toBe("Hello");
  });

  it("never exceeds max, ellipsis included", () => {
    expect(truncate("The quick brown fox jumps", 12)).toBe("The quick…");
    expect(truncate("abcdefghij", 5)).toBe("abcd…");
    expect(truncate("abcdefghij", 6, "...")).toBe("abc...");
    expect(truncate("abcdefghij", 1)).toBe("…");
    expect(truncate("abcdefghij", 0)).toBe("");
  });

  it("counts UTF-16 units and never splits a surrogate pair", () => {
    const result = truncate("😀😀😀😀", 4);
    expect(result).toBe("😀…");
    expect(result.length).toBeLessThanOrEqual(4);
  });
});
