#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "tools/mail/mail_reader.hpp"
#include "util/token_bucket.hpp"

namespace voicedesk::tools::mail {

struct GmailSettings {
  // Google's authorized-user JSON: token, refresh_token, client_id,
  // client_secret, token_uri, expiry. Rewritten (mode 0600) after a refresh.
  std::filesystem::path token_file;
  std::string api_url = "https://gmail.googleapis.com";
  std::chrono::milliseconds timeout{15000};  // per HTTP request
  std::size_t max_response_bytes = 16u << 20;
  std::size_t snippet_chars = 160;
};

// Reads the inbox through the Gmail API (users.messages.list and get),
// refreshing the OAuth access token at its token_uri when it has expired or
// the API refuses it. Every call takes one token from limiter (when given);
// a refused call throws util::RateLimited.
class GmailReader : public MailReader {
 public:
  GmailReader(GmailSettings settings, std::shared_ptr<util::TokenBucket> limiter);

  std::vector<MailSummary> list_newest(int limit) override;
  MailDetail read(const std::string& id) override;

 private:
  // GET api_url + path with the access token; the answer's JSON. 404 throws
  // NoSuchMail, other failures MailError.
  nlohmann::json get(const std::string& path);
  // The access token, refreshed first when it expires within a minute or force is set.
  std::string access_token(bool force_refresh);
  void refresh(nlohmann::json& token);

  GmailSettings settings_;
  std::shared_ptr<util::TokenBucket> limiter_;
  std::mutex token_mutex_;
};

}  // namespace voicedesk::tools::mail
