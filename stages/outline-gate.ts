import { defineStage } from "./definition";
import { masterOutline, outlineMarkdown } from "./outline";

/** Stage 5 — Outline approval: the author approves the outline, or sends it back with notes. */
export const outlineApproval = defineStage({
  id: "outline_gate",
  label: "Outline approval",
  kind: "gate",
  needs: ["outline"],
  subject: "outline",
  approved: "drafting starts",
  revises: masterOutline,
  present: ({ plan }) => {
    const outline = plan.outline ?? { chapters: [], scenes: [] };
    return {
      icon: "📜",
      title: "Outline ready for approval",
      summary: `${outline.scenes.length} scenes in ${outline.chapters.length} chapters`,
      lines: outline.chapters.map((c) => ({
        label: `${c.number}. ${c.title}`,
        detail: outline.scenes
          .filter((s) => s.chapter === c.number)
          .map((s) => s.title)
          .join(" · "),
      })),
      artifacts: plan.outline ? [{ name: "outline.md", markdown: outlineMarkdown(outline) }] : [],
    };
  },
});
