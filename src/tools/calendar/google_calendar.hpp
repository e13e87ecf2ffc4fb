#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tools/calendar/ical.hpp"

namespace voicedesk::tools::calendar {

struct GoogleCalendarSettings {
  // A Google authorized-user JSON (token, refresh_token, token_uri, client_id,
  // client_secret, expiry), as google-auth writes it; refreshed tokens are
  // written back (mode 0600).
  std::filesystem::path token_file;
  std::string api_url = "https://www.googleapis.com/calendar/v3";
  std::string calendar_id = "primary";
  std::chrono::milliseconds timeout{15000};
};

// The Google Calendar API v3 for one calendar. Methods throw CalendarError
// saying what failed (never a token).
class GoogleCalendarClient {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;
  GoogleCalendarClient(GoogleCalendarSettings settings, Clock now);

  // Inserts the event; returns the event resource Google answered.
  nlohmann::json create(const NewEvent& event, const TimeZone& zone);
  // The events overlapping the window, recurring ones expanded by Google.
  std::vector<Occurrence> list(const Window& window, const TimeZone& zone);

 private:
  // An access token valid for a minute more, refreshed when needed.
  std::string access_token(bool force_refresh);
  nlohmann::json call(const std::string& method, const std::string& url, const std::string& body);

  GoogleCalendarSettings settings_;
  Clock now_;
  std::mutex token_mutex_;  // one refresh and one token-file write at a time
};

}  // namespace voicedesk::tools::calendar
