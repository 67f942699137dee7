// How a voice will sound with an engine, in words: cloned, or the nearest preset and how close it is.
const NOT_CLONED = /\s*\(nearest preset, not cloned\)$/;

function nearestPreset(feature) {
  return feature.nearest_preset || (feature.label || "").replace(NOT_CLONED, "");
}

// { short, long, cloned }: short for a picker or a list row, long for the line under the picker.
export function cloningNote(voice, engine, engines) {
  const name = engine ? engine.name : "this engine";
  if (!voice) return { short: "", long: "", cloned: null };
  if (voice.is_preset) return { short: "preset", long: `${voice.name} is one of ${name}'s preset voices.`, cloned: null };
  if (engine && engine.clones_voices) {
    return { short: `cloned by ${name}`, long: `${name} clones this voice from your clip.`, cloned: true };
  }
  const cloner = engines.find((e) => e.clones_voices);
  const how = cloner ? `Choose the ${cloner.name} engine to clone it.`
                     : "Cloning needs GLM-TTS, which the operator enables with GLMTTS_CKPT_DIR.";
  const feature = voice.features.find((f) => f.engine === engine?.engine && f.state === "ready")
                  || voice.features.find((f) => f.engine === engine?.engine);
  if (!feature || feature.state === "pending") {
    return { short: "not cloned", long: `${name} cannot clone; it is finding the nearest of its presets to this clip. ${how}`, cloned: false };
  }
  if (feature.state === "failed") {
    return { short: "not cloned", long: `${name} could not compare this clip with its presets. ${how}`, cloned: false };
  }
  const similarity = feature.similarity == null ? "" : `, similarity ${Number(feature.similarity).toFixed(2)}`;
  const preset = nearestPreset(feature);
  return { short: `nearest preset: ${preset}${similarity}`,
           long: `Not cloned: ${name} cannot clone, so it speaks with its nearest preset, ${preset}${similarity}. ${how}`,
           cloned: false };
}
