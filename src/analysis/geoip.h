// Country lookups for source and destination addresses, from a MaxMind DB file (GeoLite2 or
// GeoIP2 Country or City, `.mmdb`), as OSSEC 3.x does with its `<global><geoipdb>` option.
#pragma once

#include <maxminddb.h>

#include <atomic>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace vigil::analysis {

struct Event;

// An open MaxMind DB. Lookups only read the database, so one instance may be shared by threads.
class GeoIpDatabase {
 public:
  // Opens `path`; the error names the file and libmaxminddb's reason.
  static Expected<std::unique_ptr<GeoIpDatabase>> Open(const std::string& path);
  ~GeoIpDatabase();
  GeoIpDatabase(const GeoIpDatabase&) = delete;
  GeoIpDatabase& operator=(const GeoIpDatabase&) = delete;

  // Returns the ISO 3166 country code of `address` (IPv4 or IPv6 text, as decoded), or an empty
  // string when the text is no address, the database has no entry for it or the entry has no
  // country. Addresses that are not valid are counted in invalid_addresses().
  std::string CountryCode(std::string_view address) const;

  // Sets event->srcgeoip and event->dstgeoip from the decoded srcip and dstip, when found.
  void Annotate(Event* event) const;

  const std::string& path() const { return path_; }
  uint64_t invalid_addresses() const { return invalid_addresses_.load(std::memory_order_relaxed); }

 private:
  explicit GeoIpDatabase(std::string path) : path_(std::move(path)) {}

  std::string path_;
  MMDB_s database_{};
  bool open_ = false;
  mutable std::atomic<uint64_t> invalid_addresses_{0};
};

}  // namespace vigil::analysis
