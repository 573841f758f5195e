#include "analysis/geoip.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

#include "analysis/event.h"

namespace vigil::analysis {
namespace {

// Parses `text` into `address`; false when it is neither an IPv4 nor an IPv6 address. Decoders
// often capture an address with a zone index or in brackets; only the bare address is accepted.
bool ParseAddress(std::string_view text, sockaddr_storage* address) {
  char buffer[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof(buffer)) return false;
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  std::memset(address, 0, sizeof(*address));
  auto* v4 = reinterpret_cast<sockaddr_in*>(address);
  if (inet_pton(AF_INET, buffer, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(address);
  if (inet_pton(AF_INET6, buffer, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    return true;
  }
  return false;
}

}  // namespace

Expected<std::unique_ptr<GeoIpDatabase>> GeoIpDatabase::Open(const std::string& path) {
  std::unique_ptr<GeoIpDatabase> database(new GeoIpDatabase(path));
  int status = MMDB_open(path.c_str(), MMDB_MODE_MMAP, &database->database_);
  if (status != MMDB_SUCCESS) {
    std::string reason = MMDB_strerror(status);
    if (status == MMDB_IO_ERROR) reason += std::string(": ") + std::strerror(errno);
    return Status::IoError(path + ": failed to open the GeoIP database: " + reason);
  }
  database->open_ = true;
  return database;
}

GeoIpDatabase::~GeoIpDatabase() {
  if (open_) MMDB_close(&database_);
}

std::string GeoIpDatabase::CountryCode(std::string_view address) const {
  sockaddr_storage parsed;
  if (!ParseAddress(address, &parsed)) {
    invalid_addresses_.fetch_add(1, std::memory_order_relaxed);
    return "";
  }
  int error = MMDB_SUCCESS;
  // MMDB_lookup_sockaddr takes a non-const database but only reads it.
  auto* database = const_cast<MMDB_s*>(&database_);
  MMDB_lookup_result_s result =
      MMDB_lookup_sockaddr(database, reinterpret_cast<const sockaddr*>(&parsed), &error);
  if (error != MMDB_SUCCESS || !result.found_entry) return "";
  MMDB_entry_data_s data;
  if (MMDB_get_value(&result.entry, &data, "country", "iso_code", nullptr) != MMDB_SUCCESS ||
      !data.has_data || data.type != MMDB_DATA_TYPE_UTF8_STRING) {
    return "";
  }
  return std::string(data.utf8_string, data.data_size);
}

void GeoIpDatabase::Annotate(Event* event) const {
  if (event->Has(Field::kSrcIp)) event->srcgeoip = CountryCode(event->Get(Field::kSrcIp));
  if (event->Has(Field::kDstIp)) event->dstgeoip = CountryCode(event->Get(Field::kDstIp));
}

}  // namespace vigil::analysis
