// How a voice will sound with an engine, in words: cloned, or a preset matched to it and how close it comes.
const SAME_SPEAKER = "a same-speaker recording scores 0.81–0.95";

function matchedPreset(feature) {
  return feature.nearest_preset || (feature.label || "").split(",")[0];
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
    return { short: "not cloned", long: `${name} cannot clone; it is matching one of its presets to this clip. ${how}`, cloned: false };
  }
  if (feature.state === "failed") {
    return { short: "not cloned", long: `${name} could not match its presets to this clip. ${how}`, cloned: false };
  }
  const score = feature.similarity == null ? null : Number(feature.similarity).toFixed(2);
  const preset = matchedPreset(feature);
  if (voice.voice_match === false) {
    return { short: `preset ${preset}, matching off`,
             long: `${name} cannot clone; with matching switched off for this voice it speaks ${preset} as it is. ${how}`,
             cloned: false };
  }
  return { short: score === null ? `resembles you: ${preset}` : `resembles you: ${preset}, similarity ${score}`,
           long: `Resembles your voice${score === null ? "" : ` (similarity ${score}; ${SAME_SPEAKER})`}: ` +
                 `${name} cannot clone, so it speaks ${preset} matched to your clip's pitch and timbre. ${how}`,
           cloned: false };
}
