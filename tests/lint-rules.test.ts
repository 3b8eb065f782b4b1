// The voice lint's rules one at a time: each model tell caught in a sentence written the way models write
// it, with its span; ordinary prose with dashes and first-person "I" left alone; a whole book in well
// under a second.
import { describe, expect, it } from "vitest";
import { isFlagged, LINT_THRESHOLD, type LintReport, lintProse } from "../src/text/lint";

function spans(report: LintReport, rule: string): string[] {
  return report.hits.filter((hit) => hit.rule === rule).map((hit) => hit.text);
}

// Model-like, written for these tests: one tell after another.
const STACKED = [
  "“We need to go,” Mara said, her voice low. She took a deep breath, her mind racing.",
  "Tomas leaned against the wall, arms crossed. His jaw tightened. “It wasn't a warning. It was a promise.”",
  "She couldn't shake the feeling that the weight of it all would find them before dawn.",
].join("\n\n");

describe("lint tells in model-like sentences", () => {
  it.each([
    ["She took a deep breath and pushed the door open.", "took a deep breath"],
    ["Mara drew a shaky breath before she answered.", "drew a shaky breath"],
    ["He let out a breath he didn't know he was holding.", "let out a breath he didn't know he was holding"],
    ["I couldn't shake the feeling that we were being watched.", "couldn't shake the feeling"],
    ["“Stay here,” she said, her voice low.", "her voice low"],
    ["“I know,” he said, voice barely above a whisper.", "voice barely above a whisper"],
    ["“Then go,” she said, her voice steady despite everything.", "her voice steady"],
    ["She nodded, her mind racing.", "her mind racing"],
    ["His eyes widened when he saw the letter.", "eyes widened"],
    ["Her eyes narrowed at the name.", "eyes narrowed"],
    ["Tom leaned against the doorframe, arms folded.", "arms folded"],
    ["He waited, jaw tight, for the verdict.", "jaw tight"],
    ["His jaw tightened at the question.", "jaw tightened"],
    ["She felt the weight of his gaze on her back.", "the weight of his"],
    ["The house was a testament to her grandmother's stubbornness.", "a testament to"],
    ["The silence stretched between them.", "The silence stretched"],
    ["The air was thick with the smell of smoke.", "The air was thick with"],
    ["The sun sank, casting long shadows across the yard.", "casting long shadows"],
  ])("%j flags %j", (sentence, expected) => {
    const report = lintProse(sentence);
    const hit = report.hits.find((h) => h.rule === "stock-phrase");
    expect(hit?.text).toBe(expected);
    expect(hit!.start).toBe(sentence.indexOf(expected));
    expect(hit!.end).toBe(hit!.start + expected.length);
    expect(hit!.weight).toBeGreaterThan(0);
  });

  it("names the kind of tell in the note", () => {
    const [tag] = lintProse("“Fine,” he said, his voice flat.").hits;
    expect(tag!.note).toBe('dialogue tag "his voice flat"');
    const [gesture] = lintProse("Her breath hitched.").hits;
    expect(gesture!.note).toBe('stock gesture "her breath hitched"');
  });

  it.each([
    ["It wasn't a threat. It was an offering.", "It wasn't a threat. It was"],
    ["This wasn't pollution; this was something else.", "This wasn't pollution; this was"],
    ["He wasn't angry—he was afraid.", "He wasn't angry—he was"],
    ["It was not anger. It was grief.", "It was not anger. It was"],
  ])('%j is a reframe ("It wasn\'t X. It was Y.")', (sentence, expected) => {
    expect(spans(lintProse(sentence), "reframe")).toEqual([expected]);
  });

  it('keeps "not X, but Y" and leaves a denial followed by something else alone', () => {
    expect(spans(lintProse("It was not fear, but something older."), "not-but")).toEqual([
      "was not fear, but",
    ]);
    expect(spans(lintProse("It was not far. We walked."), "reframe")).toEqual([]);
    const austen = "He was not handsome, and his manners required intimacy. He was too diffident.";
    expect(spans(lintProse(austen), "reframe")).toEqual([]);
  });

  it("counts narration fragments beyond one per 400 words", () => {
    const text = "I raised my hand to knock. Then lowered it. Then knocked anyway. No answer. Nothing.";
    expect(spans(lintProse(text), "fragment")).toEqual([
      "Then lowered it.",
      "Then knocked anyway.",
      "No answer.",
      "Nothing.",
    ]);
    // In dialogue they are how people talk.
    const talk = "“Not yet.” “Just tired.” “No answer?” “Nothing.” He shrugged and went back to the paper.";
    expect(spans(lintProse(talk), "fragment")).toEqual([]);
  });

  it("flags a chapter that stacks the tells", () => {
    const report = lintProse(STACKED);
    expect(report.density).toBeGreaterThan(LINT_THRESHOLD);
    expect(isFlagged(report)).toBe(true);
  });
});

// Written for these tests: modern first-person narration with the dashes and "I"s of ordinary fiction.
const FIRST_PERSON = `I had not meant to stay the winter. I had meant to sort my father's papers, sell the house and be gone by the first snow—that was the plan, anyway, and I told it to anyone who asked. I told it to the woman at the post office and to the man who came about the boiler. I told it to myself most mornings.

The papers were worse than I expected. He had kept everything: receipts for seed potatoes, letters from a cousin in Leeds, a ledger of every bet he ever placed on a horse. I sat at his desk with a bin bag at my feet and threw away nothing for the first week.

"You'll want to burn half of that," said Mrs. Pryce from next door, who came in without knocking, as she always had. "He never threw out a bus ticket."

"I know." I held up a card from 1974. "He kept his library fines."

"Course he did. He was proud of them." She laughed—a short, hoarse bark—and put the kettle on without asking. "Your mother used to say—" She stopped, and shook her head, and said nothing more about my mother.

We drank our tea at the kitchen table. Outside it had started to rain, a thin grey rain that did not so much fall as hang about the garden. I thought about the drive back to the city, the flat with its one window, the job I had not yet told anyone I had lost. I thought about the boiler man, who had said the pipes would not last another winter empty.

When Mrs. Pryce had gone I went back to the desk. The ledger was open where I had left it. On the last page, in pencil, my father had written a name I did not know and a date three weeks before he died, and underlined the date twice.`;

describe("lint on ordinary prose", () => {
  it("leaves first-person narration with dashes and dialogue alone", () => {
    const report = lintProse(FIRST_PERSON);
    expect(report.words).toBeGreaterThan(300);
    // Four "I told it…" sentences in a row are a writer's anaphora: half a point, nothing more.
    expect(report.hits.map((hit) => [hit.rule, hit.weight])).toEqual([["repeated-opening", 0.5]]);
    expect(report.density).toBeLessThan(LINT_THRESHOLD / 2);
  });

  it("does not count dashes inside dialogue", () => {
    const talk = Array.from({ length: 12 }, () => `"I—I don't—" he began. "Wait—no—listen."`).join("\n\n");
    expect(spans(lintProse(talk), "em-dash")).toEqual([]);
  });

  it("counts narration dashes only beyond one per 90 words", () => {
    const sentence =
      "The road ran on—past the mill, past the chapel—and the rain came with it over the hills. ";
    const light = `${sentence}${"The lane was empty and the ditches full of water from the night before. ".repeat(12)}`;
    expect(spans(lintProse(light), "em-dash")).toEqual([]);
    const heavy = sentence.repeat(8);
    expect(spans(lintProse(heavy), "em-dash")).toHaveLength(16);
  });

  it("lets first-person narration open three sentences with I, but not five", () => {
    const three = "I woke early. I dressed in the dark. I went down to the kitchen. The kettle was cold.";
    expect(spans(lintProse(three), "repeated-opening")).toEqual([]);
    const five = "I woke. I dressed. I went down. I lit the stove. I waited. The kettle sang.";
    const [run] = lintProse(five).hits.filter((hit) => hit.rule === "repeated-opening");
    expect(run!.note).toBe('5 sentences in a row open with "I"');
    expect(run!.weight).toBe(1);
  });

  it("lets one stock gesture through", () => {
    const withTell = FIRST_PERSON.replace(
      "She stopped, and shook her head,",
      "Her eyes narrowed, and she shook her head,",
    );
    const report = lintProse(withTell);
    expect(report.byRule).toEqual({ "stock-phrase": 1, "repeated-opening": 1 });
    expect(isFlagged(report)).toBe(false);
  });

  it("ignores repeated openings of dialogue paragraphs", () => {
    const text = ["“Go on.”", "“Wonderful thing.”", "“Go on.”", "“Mean it.”", "“Go on.”"].join("\n\n");
    expect(spans(lintProse(text), "repeated-paragraph-opening")).toEqual([]);
  });
});

describe("lint speed", () => {
  // CPU time of this process rather than wall time, best of three: other test files running beside this
  // one share the machine's cores, and a busy neighbour must not fail a lint that is itself quick.
  it("lints a 120,000-word book in well under a second", () => {
    const book = Array.from({ length: 330 }, () => `${FIRST_PERSON}\n\n${STACKED}`).join("\n\n");
    const cpuMs = () => {
      const used = process.cpuUsage();
      return (used.user + used.system) / 1000;
    };
    lintProse(book);
    let best = Number.POSITIVE_INFINITY;
    let words = 0;
    for (let run = 0; run < 3; run++) {
      const start = cpuMs();
      words = lintProse(book).words;
      best = Math.min(best, cpuMs() - start);
    }
    console.log(`lint of ${words} words: ${best.toFixed(0)} ms of CPU`);
    expect(words).toBeGreaterThan(120_000);
    expect(best).toBeLessThan(1_000);
  });
});
