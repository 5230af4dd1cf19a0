// ratelimitd's `service:` config section and its precedence under flags:
// header styles, the admin token, and reloads when --store overrides the
// file's store.url.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/json.hpp>
#include <string>

#include "ratelimitd_process.hpp"

namespace ratelimit::testing {
namespace {

namespace json = boost::json;

using ConfigFile = TempConfigFile;

const std::string kLimit = R"(
limits:
  - {name: per_user, scope: [user], algorithm: fixed_window, limit: 5, window: 1m}
)";

json::object decide_headers(RatelimitdProcess& server) {
  const HttpResponse r = server.request("POST", "/v1/decide", R"({"user": "u"})");
  EXPECT_EQ(r.status, 200u) << r.body;
  return json::parse(r.body).at("headers").as_object();
}

TEST(RatelimitdSettings, HeaderStylesFromTheConfigUnlessTheFlagSaysOtherwise) {
  ConfigFile file(kLimit + "service:\n  headers: [twitter]\n");
  {
    RatelimitdProcess server(RATELIMITD_BINARY, {"--config", file.path()});
    const auto h = decide_headers(server);
    EXPECT_TRUE(h.contains("x-rate-limit-limit")) << json::serialize(h);
    EXPECT_FALSE(h.contains("RateLimit-Limit")) << json::serialize(h);
  }
  {
    RatelimitdProcess server(RATELIMITD_BINARY, {"--config", file.path(), "--headers", "ietf"});
    const auto h = decide_headers(server);
    EXPECT_TRUE(h.contains("RateLimit-Limit")) << json::serialize(h);
    EXPECT_FALSE(h.contains("x-rate-limit-limit")) << json::serialize(h);
  }
}

TEST(RatelimitdSettings, AdminTokenFromTheConfig) {
  ::unsetenv("RATELIMITD_ADMIN_TOKEN");
  ConfigFile file(kLimit + "service:\n  admin_token: config-token-0123456789\n");
  RatelimitdProcess server(RATELIMITD_BINARY, {"--config", file.path()});
  EXPECT_EQ(server.request("GET", "/v1/admin/whitelist", "",
                           {{"Authorization", "Bearer config-token-0123456789"}})
                .status,
            200u);
  EXPECT_EQ(server.request("GET", "/v1/admin/whitelist", "", {{"Authorization", "Bearer nope"}})
                .status,
            403u);
}

// --store wins over the file's store.url, also when the file is reloaded
// (before, every reload was refused: "'store' settings changed").
TEST(RatelimitdSettings, ReloadKeepsTheStoreGivenOnTheCommandLine) {
  const std::string redis_nowhere = "store: {url: 'redis://127.0.0.1:1'}\n";
  ConfigFile file(redis_nowhere + kLimit);
  ::setenv("RATELIMITD_ADMIN_TOKEN", "settings-test-token-1", 1);
  RatelimitdProcess server(RATELIMITD_BINARY, {"--config", file.path(), "--store", "memory"});
  ::unsetenv("RATELIMITD_ADMIN_TOKEN");
  file.write(redis_nowhere + R"(
limits:
  - {name: per_user, scope: [user], algorithm: fixed_window, limit: 7, window: 1m}
)");
  const HttpResponse reload = server.request("POST", "/v1/admin/reload", "",
                                             {{"Authorization", "Bearer settings-test-token-1"}});
  EXPECT_EQ(reload.status, 200u) << reload.body;
  EXPECT_EQ(decide_headers(server).at("RateLimit-Limit").as_string(), "7");
  // A change to the service section needs a restart.
  file.write(redis_nowhere + kLimit + "service:\n  headers: [github]\n");
  const HttpResponse refused = server.request("POST", "/v1/admin/reload", "",
                                              {{"Authorization", "Bearer settings-test-token-1"}});
  EXPECT_EQ(refused.status, 400u) << refused.body;
  EXPECT_NE(refused.body.find("'service' settings changed"), std::string::npos) << refused.body;
}

}  // namespace
}  // namespace ratelimit::testing
