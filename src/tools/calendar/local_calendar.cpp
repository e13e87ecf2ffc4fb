#include "tools/calendar/local_calendar.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>

namespace voicedesk::tools::calendar {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(const std::string& what, const fs::path& path, int error = errno) {
  throw CalendarError("local calendar " + path.string() + ": " + what + ": " +
                      std::strerror(error));
}

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }
  // Closes now, reporting the error a deferred write may only show here.
  bool close() {
    const int fd = fd_;
    fd_ = -1;
    return ::close(fd) == 0;
  }

 private:
  int fd_;
};

// Holds an exclusive flock on the lock file. flock locks belong to the open
// file description, so two threads of one process, each opening the file,
// exclude each other as two processes do.
class ExclusiveLock {
 public:
  explicit ExclusiveLock(const fs::path& lock_path)
      : fd_(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)) {
    if (fd_.get() < 0) fail("cannot open the lock file", lock_path);
    while (::flock(fd_.get(), LOCK_EX) != 0) {
      if (errno != EINTR) fail("cannot lock", lock_path);
    }
  }  // the lock goes with the descriptor

 private:
  FileDescriptor fd_;
};

void write_all(int fd, const std::string& text, const fs::path& path) {
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("cannot write", path);
    written += static_cast<std::size_t>(n);
  }
}

// Writes text to a temp file beside path, flushes it to disk and renames it
// over path, then flushes the directory entry.
void replace_atomically(const fs::path& path, const std::string& text) {
  std::string temp = (path.parent_path() / (path.filename().string() + ".XXXXXX")).string();
  FileDescriptor fd(::mkstemp(temp.data()));
  if (fd.get() < 0) fail("cannot create a temporary file", path);
  try {
    ::fchmod(fd.get(), 0600);
    write_all(fd.get(), text, temp);
    if (::fsync(fd.get()) != 0) fail("cannot flush", temp);
    if (!fd.close()) fail("cannot close", temp);
    if (::rename(temp.c_str(), path.c_str()) != 0) fail("cannot rename into place", path);
  } catch (...) {
    ::unlink(temp.c_str());
    throw;
  }
  FileDescriptor dir(::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() >= 0) ::fsync(dir.get());
}

std::set<std::string> timezone_ids(icalcomponent* calendar) {
  std::set<std::string> ids;
  for (icalcomponent* zone = icalcomponent_get_first_component(calendar, ICAL_VTIMEZONE_COMPONENT);
       zone != nullptr;
       zone = icalcomponent_get_next_component(calendar, ICAL_VTIMEZONE_COMPONENT)) {
    if (icalproperty* tzid = icalcomponent_get_first_property(zone, ICAL_TZID_PROPERTY)) {
      ids.insert(icalproperty_get_tzid(tzid));
    }
  }
  return ids;
}

// Children of one kind, collected first: adding them elsewhere while
// iterating would disturb libical's iterator.
std::vector<icalcomponent*> children(icalcomponent* parent, icalcomponent_kind kind) {
  std::vector<icalcomponent*> found;
  for (icalcomponent* child = icalcomponent_get_first_component(parent, kind); child != nullptr;
       child = icalcomponent_get_next_component(parent, kind)) {
    found.push_back(child);
  }
  return found;
}

}  // namespace

IcalComponent LocalCalendarFile::read() const {
  std::error_code error;
  if (!fs::exists(path_, error)) {
    IcalComponent calendar{icalcomponent_new(ICAL_VCALENDAR_COMPONENT)};
    icalcomponent_add_property(calendar.get(), icalproperty_new_version("2.0"));
    icalcomponent_add_property(calendar.get(),
                               icalproperty_new_prodid("-//voicedesk//calendar//EN"));
    return calendar;
  }
  std::ifstream in(path_, std::ios::binary);
  if (!in) fail("cannot open", path_);
  std::string text;
  text.resize(kMaxBytes + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxBytes) {
    throw CalendarError("local calendar " + path_.string() + ": larger than " +
                        std::to_string(kMaxBytes >> 20) + " MiB");
  }
  IcalComponent calendar = parse_ical(text, "local calendar " + path_.string());
  if (icalcomponent_isa(calendar.get()) != ICAL_VCALENDAR_COMPONENT) {
    throw CalendarError("local calendar " + path_.string() + ": not a single VCALENDAR");
  }
  return calendar;
}

void LocalCalendarFile::append(icalcomponent* event_calendar) const {
  std::error_code error;
  if (!path_.parent_path().empty()) fs::create_directories(path_.parent_path(), error);
  if (error) fail("cannot create its directory", path_, error.value());

  const ExclusiveLock lock(path_.string() + ".lock");
  IcalComponent calendar = read();
  const std::set<std::string> known_zones = timezone_ids(calendar.get());
  for (icalcomponent* zone : children(event_calendar, ICAL_VTIMEZONE_COMPONENT)) {
    icalproperty* tzid = icalcomponent_get_first_property(zone, ICAL_TZID_PROPERTY);
    if (tzid != nullptr && !known_zones.contains(icalproperty_get_tzid(tzid))) {
      icalcomponent_add_component(calendar.get(), icalcomponent_new_clone(zone));
    }
  }
  for (icalcomponent* event : children(event_calendar, ICAL_VEVENT_COMPONENT)) {
    icalcomponent_add_component(calendar.get(), icalcomponent_new_clone(event));
  }
  const std::string text = to_ical_string(calendar.get());
  if (text.size() > kMaxBytes) {
    throw CalendarError("local calendar " + path_.string() + ": full (" +
                        std::to_string(kMaxBytes >> 20) + " MiB)");
  }
  replace_atomically(path_, text);
}

}  // namespace voicedesk::tools::calendar
