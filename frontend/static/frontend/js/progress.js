// What the studio says while a job runs: stage, sentence counts from 1, time elapsed, an estimate
// from the engine's measured speed, and a moving stripe so that a long sentence never looks frozen.

const HAN = /[\u3400-\u9fff\uf900-\ufaff]/g;

// Seconds of speech a text makes, roughly: ~14 Latin characters or ~4.5 Chinese characters per second.
export function spokenSeconds(text) {
  const han = (text.match(HAN) || []).length;
  return han / 4.5 + (text.length - han) / 14;
}

export class ProgressView {
  constructor({ bar, stage, elapsed, section }) {
    Object.assign(this, { bar, stage, elapsed, section });
    this.timer = null;
  }

  // expected: seconds the whole job should take (from the engine's RTF), or null when unknown.
  start(words, expected) {
    this.started = performance.now();
    this.expected = expected;
    this.set(0, words);
    this.section.classList.add("busy");
    clearInterval(this.timer);
    this.timer = setInterval(() => this.tick(), 250);
    this.tick();
  }

  set(fraction, words) {
    this.bar.value = fraction;
    this.bar.setAttribute("aria-valuenow", String(Math.round(fraction * 100)));
    this.stage.textContent = words;
  }

  // A progress event: `done` of `total` sentences finished; the one being made is done + 1.
  sentences(stage, done, total, fraction) {
    const current = Math.min(done + 1, total);
    this.set(fraction, total > 1 ? `${stage}: sentence ${current} of ${total}` : stage);
  }

  tick() {
    const seconds = (performance.now() - this.started) / 1000;
    let text = `${seconds.toFixed(1)} s elapsed`;
    if (this.expected) {
      const left = this.expected - seconds;
      text += left > 0.5 ? ` · about ${Math.ceil(left)} s left` : " · longer than estimated";
    }
    this.elapsed.textContent = text;
  }

  stop(fraction, words) {
    clearInterval(this.timer);
    this.timer = null;
    this.section.classList.remove("busy");
    if (this.started) this.elapsed.textContent = `in ${((performance.now() - this.started) / 1000).toFixed(1)} s`;
    this.started = null;
    this.set(fraction, words);
  }
}
