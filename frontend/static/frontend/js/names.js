// Readable download names: "<voice>-<first words>.<ext>" instead of a content hash.
function slug(text, words) {
  return text.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean).slice(0, words).join("-") || "speech";
}

export function downloadName(job, ext) {
  return `${slug(job.voice_name || job.voice || "voice", 3)}-${slug(job.text, 5)}.${ext}`;
}
