// `edgefed-agent predict`: predictions of the agent's serving model for a
// file of inputs, one line per input on stdout (predict_json.hpp's
// prediction_line), without starting the agent or touching the network.
//   edgefed-agent predict --input FILE [--state-dir DIR | --model FILE]
//                         [--format auto|idx|csv] [--output FILE]
// The model is STATE_DIR/serving.safetensors (what the running agent serves;
// EDGEFED_STATE_DIR works as for the agent) or any model file.
// Exit codes: 0 ok, 1 runtime failure (unreadable model, nothing served
// yet), 2 bad flags or input; the reason is one line on stderr.
#pragma once

namespace edgefed::agent {

int run_predict_command(int argc, const char* const* argv, const char* const* env);

}  // namespace edgefed::agent
