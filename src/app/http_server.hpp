#pragma once

#include <cstddef>

#include "app/settings.hpp"

namespace httplib {
class Server;
}

namespace voicedesk::app {

// Settings every voicedesk HTTP server shares: a pool of `threads` (each open
// connection holds one: event streams, kept-alive clients), long keep-alive,
// TCP_NODELAY (headers and body go out in separate writes; without it Nagle
// and delayed ACKs add 40 ms to small responses on kept-alive connections).
void configure_http_server(httplib::Server& http, std::size_t threads);

// Binds to listen with a backlog of SOMAXCONN: cpp-httplib listens with a
// backlog of 5, and a burst of clients connecting at once (a benchmark, an
// agent's parallel tool calls) saw connections reset. False when the address
// is in use or not available.
bool bind_http_server(httplib::Server& http, const ListenAddress& listen);

}  // namespace voicedesk::app
