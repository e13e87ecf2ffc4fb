#include "rtc/ice_servers.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netdb.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <memory>
#include <optional>

#include "util/text.hpp"

namespace voicedesk::rtc {
namespace {

constexpr int kStunPort = 3478;
constexpr int kTurnsPort = 5349;

bool is_ip_literal(const std::string& host) {
  unsigned char buffer[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

std::string bracketed(std::string_view host) {
  return host.find(':') != std::string_view::npos ? fmt::format("[{}]", host) : std::string(host);
}

// RFC 3986 unreserved characters stay, everything else is %XX.
std::string percent_encode(std::string_view text) {
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += fmt::format("%{:02X}", byte);
    }
  }
  return out;
}

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    unsigned value = 0;
    if (i + 2 >= text.size()) return std::nullopt;
    const auto [end, error] = std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16);
    if (error != std::errc() || end != text.data() + i + 3) return std::nullopt;
    out += static_cast<char>(value);
    i += 2;
  }
  return out;
}

bool valid_host_name(std::string_view host) {
  return !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == '_';
  });
}

struct HostPort {
  std::string host;
  int port = 0;
};

// HOST[:PORT] with HOST a name, an IPv4 address or a bracketed IPv6 address.
HostPort parse_host_port(std::string_view text, int default_port) {
  HostPort result{.host = {}, .port = default_port};
  std::optional<std::string_view> port_text;
  if (text.starts_with('[')) {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) throw IceServerError("an IPv6 address lacks its ']'");
    result.host = std::string(text.substr(1, close - 1));
    unsigned char buffer[sizeof(in6_addr)];
    if (inet_pton(AF_INET6, result.host.c_str(), buffer) != 1) {
      throw IceServerError(fmt::format("\"{}\" is not an IPv6 address", result.host));
    }
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') throw IceServerError("expected ':PORT' after the IPv6 address");
      port_text = rest.substr(1);
    }
  } else {
    const std::size_t colon = text.find(':');
    result.host = std::string(text.substr(0, colon));
    if (!valid_host_name(result.host)) {
      throw IceServerError(result.host.empty()
                               ? std::string("the host is missing")
                               : fmt::format("\"{}\" is not a host name or address", result.host));
    }
    if (colon != std::string_view::npos) port_text = text.substr(colon + 1);
  }
  if (port_text) {
    int port = 0;
    const char* end = port_text->data() + port_text->size();
    const auto [parsed_end, error] = std::from_chars(port_text->data(), end, port);
    if (error != std::errc() || parsed_end != end || port < 1 || port > 65535) {
      throw IceServerError(fmt::format("\"{}\" is not a port (1-65535)", *port_text));
    }
    result.port = port;
  }
  return result;
}

// Strips "SCHEME:" and an optional "//"; nullopt when the scheme differs.
std::optional<std::string_view> after_scheme(std::string_view url, std::string_view scheme) {
  if (url.size() <= scheme.size() || url.substr(0, scheme.size()) != scheme ||
      url[scheme.size()] != ':') {
    return std::nullopt;
  }
  std::string_view rest = url.substr(scheme.size() + 1);
  if (rest.starts_with("//")) rest.remove_prefix(2);
  return rest;
}

}  // namespace

std::string IceServer::webrtcbin_uri(std::string_view address) const {
  if (kind == Kind::stun) return fmt::format("stun://{}:{}", bracketed(address), port);
  std::string uri =
      fmt::format("{}://{}:{}@{}:{}", kind == Kind::turns ? "turns" : "turn",
                  percent_encode(username), percent_encode(credential), bracketed(address), port);
  if (transport == Transport::udp) uri += "?transport=udp";
  if (transport == Transport::tcp) uri += "?transport=tcp";
  return uri;
}

nlohmann::json IceServer::browser_config() const {
  const char* scheme = kind == Kind::stun ? "stun" : kind == Kind::turn ? "turn" : "turns";
  std::string url = fmt::format("{}:{}:{}", scheme, bracketed(host), port);
  if (kind == Kind::stun) return {{"urls", url}};
  if (transport == Transport::udp) url += "?transport=udp";
  if (transport == Transport::tcp) url += "?transport=tcp";
  return {{"urls", url}, {"username", username}, {"credential", credential}};
}

IceServer parse_stun_url(std::string_view url) {
  const std::optional<std::string_view> rest = after_scheme(url, "stun");
  if (!rest) throw IceServerError(fmt::format("\"{}\" does not start with stun:", url));
  if (rest->find_first_of("@?/") != std::string_view::npos) {
    throw IceServerError(
        fmt::format("\"{}\": a STUN URL is stun:HOST[:PORT], without user, path or query", url));
  }
  try {
    HostPort server = parse_host_port(*rest, kStunPort);
    IceServer result;
    result.kind = IceServer::Kind::stun;
    result.host = std::move(server.host);
    result.port = server.port;
    return result;
  } catch (const IceServerError& error) {
    throw IceServerError(fmt::format("\"{}\": {}", url, error.what()));
  }
}

IceServer parse_turn_url(std::string_view url) {
  IceServer result;
  std::optional<std::string_view> rest = after_scheme(url, "turns");
  if (rest) {
    result.kind = IceServer::Kind::turns;
  } else {
    rest = after_scheme(url, "turn");
    result.kind = IceServer::Kind::turn;
  }
  if (!rest) throw IceServerError("does not start with turn: or turns:");

  std::string_view authority = *rest;
  std::string_view query;
  if (const std::size_t mark = authority.find('?'); mark != std::string_view::npos) {
    query = authority.substr(mark + 1);
    authority = authority.substr(0, mark);
  }
  // The last '@': a password may contain one (it should be written %40).
  const std::size_t at = authority.rfind('@');
  if (at == std::string_view::npos) {
    throw IceServerError("needs USER:PASSWORD@ before the host (browsers refuse TURN without)");
  }
  const std::string_view userinfo = authority.substr(0, at);
  const std::size_t colon = userinfo.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == userinfo.size()) {
    throw IceServerError("needs both a user name and a password (USER:PASSWORD@HOST)");
  }
  const std::optional<std::string> username = percent_decode(userinfo.substr(0, colon));
  const std::optional<std::string> credential = percent_decode(userinfo.substr(colon + 1));
  if (!username || !credential) {
    throw IceServerError("the user name or password has a bad %-escape (use %XX)");
  }
  result.username = *username;
  result.credential = *credential;

  const std::string_view host_port = authority.substr(at + 1);
  if (host_port.find('/') != std::string_view::npos) {
    throw IceServerError("a TURN URL has no path");
  }
  HostPort server =
      parse_host_port(host_port, result.kind == IceServer::Kind::turns ? kTurnsPort : kStunPort);
  result.host = std::move(server.host);
  result.port = server.port;

  if (!query.empty()) {
    if (query == "transport=udp") {
      result.transport = IceServer::Transport::udp;
    } else if (query == "transport=tcp") {
      result.transport = IceServer::Transport::tcp;
    } else {
      throw IceServerError(fmt::format(
          "unsupported query \"{}\" (only transport=udp or transport=tcp)", query.substr(0, 40)));
    }
  }
  if (result.kind == IceServer::Kind::turns && result.transport == IceServer::Transport::udp) {
    throw IceServerError("turns: is TURN over TLS (TCP); transport=udp does not apply");
  }
  return result;
}

std::vector<IceServer> parse_turn_urls(std::string_view urls) {
  std::vector<IceServer> servers;
  std::size_t entry = 0;
  std::size_t start = 0;
  while (start <= urls.size()) {
    const std::size_t comma = std::min(urls.find(',', start), urls.size());
    const std::string_view url = util::trim(urls.substr(start, comma - start), util::kAsciiSpace);
    start = comma + 1;
    ++entry;
    if (url.empty()) continue;
    try {
      servers.push_back(parse_turn_url(url));
    } catch (const IceServerError& error) {
      throw IceServerError(fmt::format("entry {}: {}", entry, error.what()));
    }
  }
  return servers;
}

std::string resolve_ice_host(const std::string& host) {
  if (is_ip_literal(host)) return host;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* raw = nullptr;
  const int status = getaddrinfo(host.c_str(), nullptr, &hints, &raw);
  const std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> found(raw, freeaddrinfo);
  if (status != 0 || !found) {
    throw IceServerError(
        fmt::format("cannot resolve \"{}\": {}", host, status != 0 ? gai_strerror(status) : "?"));
  }
  const addrinfo* best = found.get();
  for (const addrinfo* info = found.get(); info != nullptr; info = info->ai_next) {
    if (info->ai_family == AF_INET) {
      best = info;
      break;
    }
  }
  char text[INET6_ADDRSTRLEN] = {};
  const void* address =
      best->ai_family == AF_INET
          ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(best->ai_addr)->sin_addr)
          : static_cast<const void*>(
                &reinterpret_cast<const sockaddr_in6*>(best->ai_addr)->sin6_addr);
  if (inet_ntop(best->ai_family, address, text, sizeof text) == nullptr) {
    throw IceServerError(fmt::format("cannot resolve \"{}\"", host));
  }
  return text;
}

}  // namespace voicedesk::rtc
