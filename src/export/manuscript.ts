/** The book as exporters see it: plain data, no database or pipeline types. */
export interface ManuscriptScene {
  /** 1-based position in the whole book. */
  number: number;
  title: string;
  /** Plain prose: paragraphs separated by blank lines. `null` when the scene is not written yet. */
  text: string | null;
}

export interface ManuscriptChapter {
  /** 1-based. */
  number: number;
  title: string;
  scenes: ManuscriptScene[];
}

export interface Manuscript {
  title: string;
  author: string;
  /** One-paragraph description (logline); goes into document metadata. */
  description: string;
  genre: string;
  /** BCP 47 language tag, e.g. "en". */
  language: string;
  /** Year for the copyright page. */
  year: number;
  chapters: ManuscriptChapter[];
  /** True when any outlined scene has no text yet: exports then carry a notice. */
  partial: boolean;
}

export function missingScenes(m: Manuscript): number[] {
  return m.chapters.flatMap((c) => c.scenes.filter((s) => !s.text?.trim()).map((s) => s.number));
}
