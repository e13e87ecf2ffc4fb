#pragma once

#include <string>
#include <vector>

namespace httplib {
class Server;
}

namespace voicedesk::rtc {

class Gateway;

// The signalling routes of the gateway (JSON errors {"error":...}):
//   POST   /session             -> 201 {"id":"<32 hex>","ice_servers":[RTCIceServer...]}
//                                  (the STUN/TURN servers the browser should use, TURN
//                                  credentials included); 503 at the session limit
//   POST   /session/{id}/offer  (Content-Type application/sdp) -> 200 application/sdp answer;
//                                  400 bad SDP, 404 unknown id, 409 second offer,
//                                  413 too large, 415 other content type
//   DELETE /session/{id}        -> 204; 404 unknown id
//   OPTIONS on those paths       -> 204 CORS preflight answer for allowed origins
// A request whose Origin header is not in allowed_origins gets 403 (requests
// without Origin come from non-browser clients and are allowed). The gateway
// must outlive the server.
void install_routes(httplib::Server& server, Gateway& gateway,
                    const std::vector<std::string>& allowed_origins);

}  // namespace voicedesk::rtc
