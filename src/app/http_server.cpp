#include "app/http_server.hpp"

#include <httplib.h>
#include <sys/socket.h>

namespace voicedesk::app {

void configure_http_server(httplib::Server& http, std::size_t threads) {
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_keep_alive_max_count(100000);
  http.set_tcp_nodelay(true);
}

bool bind_http_server(httplib::Server& http, const ListenAddress& listen) {
  int bound = -1;
  http.set_socket_options([&bound](socket_t socket) {
    const int yes = 1;
    ::setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    bound = socket;
  });
  if (!http.bind_to_port(listen.host, listen.port)) return false;
  // Listening again on a listening socket only changes its backlog.
  if (bound >= 0) ::listen(bound, SOMAXCONN);
  return true;
}

}  // namespace voicedesk::app
