// ratelimitd: the rate-limiting decision service (spec/http-api.md).

#include <CLI/CLI.hpp>
#include <boost/asio.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "http_server.hpp"
#include "proxy/proxy_server.hpp"
#include "ratelimit/policy/config_loader.hpp"
#include "ratelimit/policy/engine.hpp"
#include "ratelimit/store_factory.hpp"
#include "service.hpp"

namespace {

// "HOST:PORT" or "[v6]:PORT"; throws CLI::ValidationError naming the value.
std::pair<std::string, std::uint16_t> parse_listen(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size()) {
    throw CLI::ValidationError("--listen", "expected HOST:PORT, got '" + text + "'");
  }
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  int port = -1;
  try {
    std::size_t used = 0;
    port = std::stoi(text.substr(colon + 1), &used);
    if (used != text.size() - colon - 1) port = -1;
  } catch (const std::exception&) {
  }
  if (port < 0 || port > 65535)
    throw CLI::ValidationError("--listen", "bad port in '" + text + "'");
  return {host, static_cast<std::uint16_t>(port)};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ratelimitd: rate-limit decisions over HTTP (see docs/service.md)"};
  std::string listen = "127.0.0.1:8080";
  std::string store_url;
  std::string config_path;
  std::string admin_token_env = "RATELIMITD_ADMIN_TOKEN";
  std::string audit_log;
  std::vector<std::string> header_styles = {"ietf", "x-ratelimit"};
  unsigned threads = std::max(1U, std::thread::hardware_concurrency());
  ratelimitd::ServerLimits limits;
  std::size_t body_limit = limits.body_limit;
  std::string upstream;
  std::string proxy_listen;
  app.add_option("--listen", listen, "HOST:PORT to listen on (port 0: any free port)")
      ->capture_default_str();
  app.add_option("--store", store_url,
                 "memory, or a redis:// / redis+sentinel:// / redis+cluster:// URL "
                 "(default: the config's store.url, else memory)");
  app.add_option("--config", config_path, "policy file for /v1/decide (docs/config.md)")
      ->check(CLI::ExistingFile);
  app.add_option("--admin-token-env", admin_token_env,
                 "environment variable holding the admin API's bearer token (unset: admin API off)")
      ->capture_default_str();
  app.add_option("--audit-log", audit_log, "append admin changes to FILE as JSON lines");
  app.add_option("--headers", header_styles,
                 "rate-limit header styles: ietf, x-ratelimit, github, twitter")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--threads", threads, "event loops (default: one per core)")
      ->check(CLI::Range(1U, 256U));
  app.add_option("--max-body", body_limit, "largest request body in bytes")
      ->capture_default_str()
      ->check(CLI::Range(1, 64 << 20));
  app.add_option("--upstream", upstream,
                 "proxy mode: forward admitted requests to http://HOST:PORT (default: the "
                 "config's proxy.upstream; docs/proxy.md)");
  app.add_option("--proxy-listen", proxy_listen,
                 "proxy mode: HOST:PORT the proxy listens on (default: the config's proxy.listen, "
                 "else 127.0.0.1:8081)");
  CLI11_PARSE(app, argc, argv);
  limits.body_limit = body_limit;

  try {
    const auto [host, port] = parse_listen(listen);
    ratelimit::policy::PolicyConfig policy;
    if (!config_path.empty()) policy = ratelimit::policy::load_config_file(config_path);
    // Flags win over the config's `service:` section, which wins over defaults.
    const ratelimit::policy::ServiceConfig settings = policy.service;
    if (app.count("--headers") == 0 && !settings.headers.empty()) header_styles = settings.headers;
    ratelimit::http::HeaderStyles styles{.ietf = false, .x_ratelimit = false};
    for (const auto& name : header_styles) {
      if (!ratelimit::http::enable_style(styles, name)) {
        throw CLI::ValidationError(
            "--headers", "unknown style '" + name + "' (use ietf, x-ratelimit, github, twitter)");
      }
    }
    if (app.count("--admin-token-env") == 0 && !settings.admin_token_env.empty())
      admin_token_env = settings.admin_token_env;
    const char* token_from_env = std::getenv(admin_token_env.c_str());
    const std::string admin_token = token_from_env != nullptr && *token_from_env != '\0'
                                        ? token_from_env
                                        : settings.admin_token;
    if (audit_log.empty()) audit_log = settings.audit_log;
    const ratelimit::telemetry::AlertRules alert_rules = settings.alerts;
    const bool store_overridden = !store_url.empty();
    if (store_url.empty()) store_url = policy.store.url;
    std::shared_ptr<ratelimit::Store> store = ratelimit::open_store(store_url);
    std::shared_ptr<ratelimit::AttributeStore> attributes =
        ratelimit::open_attribute_store(store_url);
    policy.store.url = store_url;
    auto engine = std::make_shared<ratelimit::policy::PolicyEngine>(
        *store, *attributes, ratelimit::SystemClock::instance(), std::move(policy));
    ratelimitd::Service service({.store_url = store_url,
                                 .config_path = config_path,
                                 .store_overridden = store_overridden,
                                 .header_styles = styles,
                                 .admin_token = admin_token,
                                 .audit_log = audit_log,
                                 .alert_rules = alert_rules},
                                store, engine, ratelimit::system_clock_handle());
    ratelimitd::HttpServer server(
        host, port, threads, limits,
        [&service](const ratelimitd::HttpRequest& r) { return service.handle(r); });

    // Proxy mode: a second listener on the same event loops.
    std::optional<ratelimitd::proxy::ProxyServer> proxy;
    const auto& proxy_config = engine->config()->proxy;
    if (upstream.empty()) upstream = proxy_config.upstream;
    if (!upstream.empty()) {
      auto options = ratelimitd::proxy::proxy_options(proxy_config, styles);
      try {
        options.upstream = ratelimit::policy::parse_upstream_url(upstream);
      } catch (const std::invalid_argument& e) {
        throw CLI::ValidationError("--upstream", e.what());
      }
      if (proxy_listen.empty()) proxy_listen = proxy_config.listen;
      if (proxy_listen.empty()) proxy_listen = "127.0.0.1:8081";
      const auto [proxy_host, proxy_port] = parse_listen(proxy_listen);
      options.listen_host = proxy_host;
      options.listen_port = proxy_port;
      options.limits = limits;
      proxy.emplace(std::move(options), *engine, ratelimit::system_clock_handle(),
                    [&service](const ratelimitd::DecisionOutcome& outcome, double seconds) {
                      service.observe_decision(outcome, seconds);
                    });
      proxy->attach(server);
      service.set_proxy_view([&proxy] { return proxy->stats(); });
    } else if (!proxy_listen.empty()) {
      throw CLI::ValidationError("--proxy-listen", "needs an upstream (--upstream or proxy.upstream)");
    }

    // Signals on a loop of their own: SIGTERM/SIGINT stop gracefully;
    // SIGHUP reloads the policy file (an invalid one is reported and the
    // old config stays in force).
    boost::asio::io_context signal_io;
    boost::asio::signal_set signals(signal_io, SIGINT, SIGTERM);
    signals.async_wait([&server](const boost::system::error_code& ec, int) {
      if (!ec) server.stop();
    });
    boost::asio::signal_set hangups(signal_io, SIGHUP);
    std::function<void(const boost::system::error_code&, int)> on_hangup =
        [&](const boost::system::error_code& ec, int) {
          if (ec) return;
          try {
            std::printf("ratelimitd: reloaded %s (reload %llu)\n", config_path.c_str(),
                        static_cast<unsigned long long>(service.reload()));
          } catch (const std::exception& e) {
            std::fprintf(stderr, "ratelimitd: reload failed, the old config stays in force:\n%s\n",
                         e.what());
          }
          std::fflush(stdout);
          hangups.async_wait(on_hangup);
        };
    hangups.async_wait(on_hangup);
    std::thread signal_thread([&signal_io] { signal_io.run(); });

    std::printf("ratelimitd listening on %s:%u (store %s, %u threads)\n", host.c_str(),
                server.port(), store_url.c_str(), threads);
    if (proxy) {
      std::printf("ratelimitd proxy listening on %s:%u, forwarding to %s\n",
                  proxy_listen.substr(0, proxy_listen.rfind(':')).c_str(), proxy->port(),
                  upstream.c_str());
    }
    std::fflush(stdout);
    server.run();
    signal_io.stop();
    signal_thread.join();
    std::printf("ratelimitd stopped\n");
    return 0;
  } catch (const CLI::Error& e) {
    return app.exit(e);
  } catch (const ratelimit::policy::ConfigError& e) {
    std::fprintf(stderr, "ratelimitd: invalid config:\n%s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ratelimitd: %s\n", e.what());
    return 1;
  }
}
