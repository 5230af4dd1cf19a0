#include "proxy/added_headers.hpp"

#include <boost/beast/core/string.hpp>

namespace ratelimitd::proxy {

void AddedHeaders::clear() noexcept {
  lines_.clear();
  entries_.clear();
}

void AddedHeaders::add(std::string_view name, std::string_view value) {
  Entry e{};
  e.name_at = static_cast<std::uint32_t>(lines_.size());
  e.name_size = static_cast<std::uint32_t>(name.size());
  lines_ += name;
  lines_ += ": ";
  e.value_at = static_cast<std::uint32_t>(lines_.size());
  e.value_size = static_cast<std::uint32_t>(value.size());
  lines_ += value;
  lines_ += "\r\n";
  entries_.push_back(e);
}

std::string_view AddedHeaders::name(std::size_t i) const noexcept {
  return std::string_view(lines_).substr(entries_[i].name_at, entries_[i].name_size);
}

std::string_view AddedHeaders::value(std::size_t i) const noexcept {
  return std::string_view(lines_).substr(entries_[i].value_at, entries_[i].value_size);
}

bool AddedHeaders::has(std::string_view wanted) const noexcept {
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if (boost::beast::iequals(name(i), wanted)) return true;
  }
  return false;
}

}  // namespace ratelimitd::proxy
