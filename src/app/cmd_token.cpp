#include <chrono>
#include <ostream>

#include "app/commands.hpp"
#include "app/settings.hpp"
#include "auth/legacy.hpp"
#include "auth/token.hpp"

namespace voicedesk::app {

int run_token(const util::Config& config, const TokenRequest& request, std::ostream& out) {
  const auto now = std::chrono::system_clock::now();
  if (request.legacy) {
    out << auth::mint_legacy_key(now, legacy_window(config)) << '\n';
    return kExitOk;
  }
  if (!auth::is_valid_audience(request.audience)) {
    throw BadInput("--audience \"" + request.audience + "\": expected " +
                   std::string(auth::kAudienceRule));
  }
  out << auth::mint_token(service_secret(config), request.audience, now) << '\n';
  return kExitOk;
}

}  // namespace voicedesk::app
