// Runs an Analyzer over a stream of records on several threads with the results of one.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "analysis/analyzer.h"

namespace vigil::analysis {

// Analyses records as Analyzer::Process would, one after the other, but spreads the
// stateless stage (Analyzer::Decode: sanitising, pre-decoding, decoding) over worker threads.
// Records go to the workers in batches. The stateful stage (Analyzer::Correlate: the event
// time, accumulation, rules and correlation) and the sink run on the thread that calls Add()
// and Finish(), batch after batch in input order. So every decision, alert and its order is
// the same for any number of threads, given the same event times.
//
// Not thread-safe: Add() and Finish() must be called from one thread.
class ParallelAnalyzer {
 public:
  // Receives each analysed event and its decision, in input order, on the caller's thread.
  // The event is reused after the call returns.
  using Sink = std::function<void(const RuleMatch& match, const Event& event)>;

  // `analyzer` must outlive this object. `threads` is the number of decoding threads; with 0
  // or 1, Add() analyses each record at once on the caller's thread. `batch_size` is the
  // number of records handed to a worker at a time (at least 1).
  ParallelAnalyzer(Analyzer* analyzer, int threads, Sink sink, size_t batch_size = 256);
  // Analyses what is still queued, then stops the workers.
  ~ParallelAnalyzer();

  ParallelAnalyzer(const ParallelAnalyzer&) = delete;
  ParallelAnalyzer& operator=(const ParallelAnalyzer&) = delete;

  // Queues one record. It may first pass earlier records to the sink, and it blocks while
  // every batch is in use.
  // `text_is_clean` as for Analyzer::Decode().
  void Add(std::string_view location, std::string_view text, bool text_is_clean = false);
  // Add() of `*text`, whose buffer is taken without a copy: `*text` is another buffer, with
  // unspecified text, afterwards.
  void AddTaking(std::string_view location, std::string* text, bool text_is_clean = false);

  // Analyses every queued record and passes it to the sink before it returns. Records may be
  // added again afterwards, so a caller whose input pauses calls it to pass on what it has.
  void Finish();

 private:
  // Adds the record whose text is already in the filling batch.
  void Queue(std::string_view location, bool text_is_clean);

  struct Batch {
    std::vector<std::string> locations;
    std::vector<std::string> texts;
    std::vector<char> clean;  // text_is_clean of each text
    std::vector<Event> events;
    size_t size = 0;
    bool decoded = false;  // guarded by mu_
  };

  void SubmitFilled();
  // Correlates the oldest submitted batch; waits for its decoding when `wait` is true.
  // Returns false when it did not wait and the batch was not decoded yet.
  bool CorrelateOldest(bool wait);
  void RunWorker();

  Analyzer* analyzer_;
  Sink sink_;
  size_t batch_size_;
  Event single_event_;  // for the single-thread mode

  // A ring of batches: `filling_` is being filled by the caller, and the `in_flight_` batches
  // before it, from `oldest_`, are queued, being decoded or decoded.
  std::vector<std::unique_ptr<Batch>> ring_;
  size_t filling_ = 0;
  size_t oldest_ = 0;
  size_t in_flight_ = 0;

  std::mutex mu_;
  std::condition_variable work_ready_;
  std::condition_variable batch_decoded_;
  std::deque<Batch*> queue_;  // submitted batches not yet taken by a worker; guarded by mu_
  bool stopping_ = false;     // guarded by mu_
  std::vector<std::thread> workers_;
};

}  // namespace vigil::analysis
