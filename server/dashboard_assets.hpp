#pragma once
// The dashboard's files (server/dashboard/), embedded in the binary at
// build time: ratelimitd serves them with no file on disk and no internet.

#include <span>
#include <string_view>

namespace ratelimitd {

struct DashboardAsset {
  std::string_view path;  ///< "/dashboard", "/dashboard/dashboard.js", ...
  std::string_view content_type;
  std::string_view body;
};

/// Every embedded file.
[[nodiscard]] std::span<const DashboardAsset> dashboard_assets() noexcept;

}  // namespace ratelimitd
