// edgefed-agent: one federated-learning edge agent (see agent/loop/agent_loop.hpp);
// `edgefed-agent predict ...` runs the serving model on a file of inputs
// instead (agent/serve/predict_command.hpp).
// Exit codes: 0 ok (--once: everything acknowledged), 1 runtime failure
// (--once: not drained in time; outbox/disk failure), 2 bad configuration.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <exception>
#include <iostream>
#include <string_view>
#include <thread>

#include "agent/loop/agent_loop.hpp"
#include "agent/loop/agent_options.hpp"
#include "agent/serve/predict_command.hpp"
#include "edgefed/log.hpp"

extern char** environ;

namespace {

std::atomic<edgefed::agent::AgentLoop*> g_agent{nullptr};
std::atomic<bool> g_stop_requested{false};

// stop() takes a mutex, which a signal handler must not: a watcher thread
// waits for the signals instead.
void watch_signals(sigset_t set) {
  int sig = 0;
  while (sigwait(&set, &sig) == 0) {
    g_stop_requested = true;
    if (auto* a = g_agent.load()) a->stop();
    if (sig == SIGINT || sig == SIGTERM) edgefed::log::info("signal").kv("signal", sig);
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace edgefed;
  if (argc > 1 && std::string_view(argv[1]) == "predict")
    return agent::run_predict_command(argc - 1, argv + 1, environ);
  agent::AgentCommandLine command_line;
  const agent::AgentConfig& config = command_line.config;
  Options options = agent::make_agent_options(command_line);
  try {
    options.parse(argc, argv, environ);
    if (options.help_requested()) {
      std::cout << options.help_text();
      return 0;
    }
    log::set_component("agent");
    log::set_level(command_line.log_level);
    agent::finish_agent_config(command_line, environ);
    if (command_line.check_config) {
      agent::check_agent_config(config);
      for (const auto& [k, v] : options.values())
        std::cout << k << " = " << v << "  (" << options.source(k) << ")\n";
      std::cout << "agent id: " << config.agent_id << "\nconfiguration ok\n";
      return 0;
    }
  } catch (const ConfigError& e) {
    std::cerr << "edgefed-agent: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "edgefed-agent: " << e.what() << "\n";
    return 2;
  }
  log::set_global_field("agent", config.agent_id);
  if (config.attack.kind != agent::Attack::Kind::kNone)
    log::warn("attack_test_seam").kv("attack", agent::to_string(config.attack));

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  std::thread(watch_signals, set).detach();

  auto agent = agent::AgentLoop::create(config);
  if (!agent) {
    std::cerr << "edgefed-agent: " << agent.status().to_string() << "\n";
    // Unusable files and data are configuration errors; a state dir held by
    // another agent is not.
    return agent.status().code() == Code::kUnavailable ? 1 : 2;
  }
  g_agent = agent->get();
  if (g_stop_requested) (*agent)->stop();
  const bool once = command_line.once;
  Status st = once ? (*agent)->run_once() : (*agent)->run();
  g_agent = nullptr;
  if (once) {
    const auto snap = (*agent)->snapshot();
    log::info("once_done")
        .kv("ok", st.is_ok())
        .kv("updates_acked", snap.journal.updates_acked)
        .kv("telemetry_acked", snap.journal.telemetry_acked)
        .kv("outbox_records", snap.depth.records());
  }
  if (!st.is_ok()) {
    std::cerr << "edgefed-agent: " << st.to_string() << "\n";
    return 1;
  }
  return 0;
}
