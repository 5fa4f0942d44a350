#pragma once
// OCSP stapling (the static ocsp section): a thread of its own asks the
// responders named by the terminated certificates, keeps each certificate's
// last good response in the slot its handshakes read (tls/ocsp_staple.hpp)
// and asks again halfway to nextUpdate. Nothing here runs on an io thread.
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "tls/cert_store.hpp"

namespace snigate::session {

struct OcspEntry;

class OcspStapler {
 public:
  explicit OcspStapler(std::map<std::string, std::string> responder_overrides);
  ~OcspStapler();  // stops; waits for a fetch in progress (at most its timeout)
  OcspStapler(const OcspStapler&) = delete;
  OcspStapler& operator=(const OcspStapler&) = delete;

  // The certificates of a new configuration, before any client can see them:
  // one seen before (same leaf) keeps its response, a new one is fetched at
  // once, one no longer served is forgotten.
  void track(const tls::CertStore& certs);

 private:
  void run();
  void fetch(OcspEntry& entry);

  std::map<std::string, std::string> overrides_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::map<std::string, std::shared_ptr<OcspEntry>> entries_;  // by SHA-256 of the leaf
  std::thread thread_;
};

}  // namespace snigate::session
