/**
 * Before each test file, in processes that run many files one after another (`isolate: false`).
 *
 * discord.js is loaded before anything else, as in the bot: Vega-Lite, which some files load to draw
 * pictures, defines `Set.prototype.toJSON`, and discord.js's event emitter, loaded after it, fails to
 * start ("string 'Set()' is not iterable"). A file that draws would otherwise break the Discord files
 * after it in the same process.
 */
import "discord.js";

// A file runs on the store of its own pass, whatever pass the process ran a file for before.
const pass = process.env.FOLIO_TEST_STORE;
if (pass && (pass === "postgres") !== !!process.env.FOLIO_TEST_POSTGRES)
  throw new Error(`a ${pass} file was about to run on the other store`);
