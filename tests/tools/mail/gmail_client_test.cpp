#include "tools/mail/gmail_client.hpp"

#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "app/config_schema.hpp"
#include "tools/mail/read_tools.hpp"
#include "util/base64.hpp"
#include "util/temp_dir.hpp"

namespace voicedesk::tools::mail {
namespace {

using nlohmann::json;

std::string base64url(std::string_view text) {
  std::string encoded = util::base64_encode(text);
  for (char& c : encoded) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  while (!encoded.empty() && encoded.back() == '=') encoded.pop_back();
  return encoded;
}

json header(const std::string& name, const std::string& value) {
  return {{"name", name}, {"value", value}};
}

// The subset of the Gmail API and Google's token endpoint the reader uses,
// checking the Bearer token and the refresh request.
class FakeGmail {
 public:
  FakeGmail() {
    server_.Post("/token", [this](const httplib::Request& request, httplib::Response& response) {
      const bool valid = request.get_param_value("grant_type") == "refresh_token" &&
                         request.get_param_value("refresh_token") == "refresh-1" &&
                         request.get_param_value("client_id") == "client.apps" &&
                         request.get_param_value("client_secret") == "shh";
      if (!valid) {
        response.status = 400;
        response.set_content(R"({"error":"invalid_grant"})", "application/json");
        return;
      }
      ++refreshes;
      response.set_content(
          json{{"access_token", "fresh-token"}, {"expires_in", 3599}, {"token_type", "Bearer"}}
              .dump(),
          "application/json");
    });
    server_.Get("/gmail/v1/users/me/messages",
                [this](const httplib::Request& request, httplib::Response& response) {
                  if (!authorized(request, response)) return;
                  EXPECT_EQ(request.get_param_value("labelIds"), "INBOX");
                  const int max = std::stoi(request.get_param_value("maxResults"));
                  json messages = json::array();
                  for (const char* id : {"18c2", "18c1"}) {
                    if (static_cast<int>(messages.size()) < max) {
                      messages.push_back({{"id", id}, {"threadId", "t1"}});
                    }
                  }
                  response.set_content(json{{"messages", messages}}.dump(), "application/json");
                });
    server_.Get(R"(/gmail/v1/users/me/messages/(\w+))", [this](const httplib::Request& request,
                                                               httplib::Response& response) {
      if (!authorized(request, response)) return;
      const std::string id = request.matches[1];
      if (id != "18c1" && id != "18c2") {
        response.status = 404;
        response.set_content(R"({"error":{"code":404,"message":"Not Found"}})", "application/json");
        return;
      }
      const bool full = request.get_param_value("format") == "full";
      response.set_content(message(id, full).dump(), "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeGmail() {
    server_.stop();
    thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  std::atomic<int> refreshes{0};
  std::string accepted_token = "fresh-token";

 private:
  bool authorized(const httplib::Request& request, httplib::Response& response) {
    if (request.get_header_value("Authorization") == "Bearer " + accepted_token) return true;
    response.status = 401;
    response.set_content(R"({"error":{"code":401,"message":"Invalid Credentials"}})",
                         "application/json");
    return false;
  }

  static json message(const std::string& id, bool full) {
    const bool newest = id == "18c2";
    json headers = json::array(
        {header("From", newest ? "=?UTF-8?Q?Ren=C3=A9e?= <renee@example.com>" : "Ann <a@x.org>"),
         header("To", "me@example.com"), header("Subject", newest ? "Re: Budget" : "Hello"),
         header("Date", newest ? "Tue, 02 Jan 2024 10:00:00 +0000" : "Mon, 1 Jan 2024"),
         header("Message-ID", "<" + id + "@mail.example.com>")});
    if (newest) headers.push_back(header("References", "<root@mail.example.com>"));
    json payload = {{"mimeType", full ? "multipart/alternative" : "text/plain"},
                    {"headers", headers}};
    if (full) {
      payload["parts"] = json::array(
          {{{"mimeType", "text/plain"},
            {"headers", json::array({header("Content-Type", "text/plain; charset=ISO-8859-1")})},
            {"body",
             {{"data", base64url("Ren\xE9"
                                 "e's budget: 5 \x80")},
              {"size", 17}}}},
           {{"mimeType", "text/html"}, {"body", {{"data", base64url("<p>html</p>")}}}},
           {{"mimeType", "application/pdf"},
            {"filename", "budget.pdf"},
            {"body", {{"attachmentId", "att1"}, {"size", 1000}}}}});
    }
    return {{"id", id},
            {"threadId", "t1"},
            {"snippet", newest ? "Ren&eacute;e&#39;s budget" : "Hi there"},
            {"payload", payload}};
  }

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

class GmailClientTest : public ::testing::Test {
 protected:
  void write_token(const std::string& access, const std::string& expiry) {
    token_file_ = dir_.write("token.json", json{{"token", access},
                                                {"refresh_token", "refresh-1"},
                                                {"client_id", "client.apps"},
                                                {"client_secret", "shh"},
                                                {"token_uri", gmail_.url() + "/token"},
                                                {"scopes", {"https://mail.google.com/"}},
                                                {"expiry", expiry}}
                                               .dump());
    ::chmod(token_file_.c_str(), 0600);
  }
  json token_on_disk() const {
    std::ifstream in(token_file_);
    return json::parse(in);
  }
  GmailReader reader() const {
    GmailSettings settings;
    settings.token_file = token_file_;
    settings.api_url = gmail_.url();
    settings.timeout = std::chrono::seconds(5);
    return GmailReader(settings, nullptr);
  }

  FakeGmail gmail_;
  test_support::TempDir dir_;
  std::filesystem::path token_file_;
};

TEST_F(GmailClientTest, RefreshesAnExpiredTokenAndWritesItBack) {
  write_token("stale-token", "2020-01-01T00:00:00.000000Z");
  auto gmail = reader();
  const auto summaries = gmail.list_newest(10);
  ASSERT_EQ(summaries.size(), 2u);
  EXPECT_EQ(gmail_.refreshes, 1);
  EXPECT_EQ(summaries[0].id, "18c2");
  EXPECT_EQ(summaries[0].from,
            "Ren\xC3\xA9"
            "e <renee@example.com>");
  EXPECT_EQ(summaries[0].subject, "Re: Budget");
  EXPECT_EQ(summaries[0].snippet, "Ren&eacute;e's budget");  // only known entities decoded
  EXPECT_EQ(summaries[1].snippet, "Hi there");

  const json token = token_on_disk();
  EXPECT_EQ(token["token"], "fresh-token");
  EXPECT_EQ(token["refresh_token"], "refresh-1");
  EXPECT_EQ(token["scopes"][0], "https://mail.google.com/");  // other fields kept
  EXPECT_GT(token["expiry"].get<std::string>(), "2024");
  struct stat info {};
  ASSERT_EQ(::stat(token_file_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);

  // The refreshed token is used from the file until it expires.
  EXPECT_EQ(gmail.list_newest(1).size(), 1u);
  EXPECT_EQ(gmail_.refreshes, 1);
}

TEST_F(GmailClientTest, RefreshesWhenTheApiRefusesAnUnexpiredToken) {
  write_token("revoked-token", "2999-01-01T00:00:00Z");
  const MailDetail mail = reader().read("18c2");
  EXPECT_EQ(gmail_.refreshes, 1);
  EXPECT_EQ(mail.body,
            "Ren\xC3\xA9"
            "e's budget: 5 \xC2\x80");
  EXPECT_EQ(mail.message_id, "<18c2@mail.example.com>");
  EXPECT_EQ(mail.references, std::vector<std::string>{"<root@mail.example.com>"});
  EXPECT_EQ(mail.to, "me@example.com");
}

TEST_F(GmailClientTest, ErrorsAreMailErrors) {
  write_token("fresh-token", "2999-01-01T00:00:00Z");
  EXPECT_THROW(reader().read("ffff"), NoSuchMail);
  EXPECT_THROW(reader().read("../etc"), NoSuchMail);
  gmail_.accepted_token = "never";
  EXPECT_THROW(reader().list_newest(1), MailError);
  write_token("", "");
  ::unlink(token_file_.c_str());
  EXPECT_THROW(reader().list_newest(1), MailError);
}

TEST_F(GmailClientTest, ToolsUseGmailWhenOnlyTheTokenFileIsSet) {
  write_token("fresh-token", "2999-01-01T00:00:00Z");
  util::Config config(app::config_schema());
  config.apply_override("GMAIL_TOKEN_FILE", token_file_.string());
  config.apply_override("VOICEDESK_GMAIL_API_URL", gmail_.url());
  config.apply_override("VOICEDESK_GMAIL_RATE", "1000");
  std::vector<OutgoingMail> sent;
  const auto tools = make_read_tools(config, [&](const OutgoingMail& mail) {
    sent.push_back(mail);
    return json{{"status", "queued"}, {"id", 7}, {"message_id", "<r@x>"}};
  });
  struct : ToolContext {
    void progress(double, std::optional<double>, const std::string&) override {}
    void log(LogLevel, const json&) override {}
    json ask_client(const std::string&, const json&) override { return {}; }
    const std::atomic<bool>& cancelled() const override { return cancelled_; }
    std::atomic<bool> cancelled_{false};
  } context;
  const ToolResult listed = tools[0].call({{"limit", 1}}, context);
  EXPECT_EQ(listed.structured["emails"].size(), 1u);
  const ToolResult replied = tools[2].call({{"email_id", "18c2"}, {"body", "Approved."}}, context);
  EXPECT_EQ(replied.structured["status"], "queued");
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].to, std::vector<std::string>{"Ren\xC3\xA9"
                                                 "e <renee@example.com>"});
  EXPECT_EQ(sent[0].subject, "Re: Budget");
  EXPECT_EQ(sent[0].in_reply_to, "<18c2@mail.example.com>");
  EXPECT_EQ(sent[0].references,
            (std::vector<std::string>{"<root@mail.example.com>", "<18c2@mail.example.com>"}));
}

TEST_F(GmailClientTest, RateLimitIsAToolErrorInHardMode) {
  write_token("fresh-token", "2999-01-01T00:00:00Z");
  util::Config config(app::config_schema());
  config.apply_override("GMAIL_TOKEN_FILE", token_file_.string());
  config.apply_override("VOICEDESK_GMAIL_API_URL", gmail_.url());
  config.apply_override("VOICEDESK_GMAIL_RATE", "0.001");
  config.apply_override("VOICEDESK_GMAIL_BURST", "1");
  config.apply_override("VOICEDESK_RATE_LIMIT_MODE", "hard");
  const auto reader = make_mail_reader(config);
  ASSERT_TRUE(reader);
  EXPECT_EQ(reader->list_newest(1).size(), 1u);
  EXPECT_THROW(reader->list_newest(1), util::RateLimited);
}

}  // namespace
}  // namespace voicedesk::tools::mail
