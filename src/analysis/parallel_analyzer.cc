#include "analysis/parallel_analyzer.h"

#include <algorithm>

namespace vigil::analysis {

ParallelAnalyzer::ParallelAnalyzer(Analyzer* analyzer, int threads, Sink sink, size_t batch_size)
    : analyzer_(analyzer), sink_(std::move(sink)), batch_size_(std::max<size_t>(batch_size, 1)) {
  if (threads <= 1) return;
  // Two batches per worker keep every worker busy while the caller correlates another one.
  size_t batches = 2 * static_cast<size_t>(threads) + 1;
  for (size_t i = 0; i < batches; ++i) {
    auto batch = std::make_unique<Batch>();
    batch->locations.resize(batch_size_);
    batch->texts.resize(batch_size_);
    batch->clean.resize(batch_size_);
    batch->events.resize(batch_size_);
    ring_.push_back(std::move(batch));
  }
  for (int i = 0; i < threads; ++i) workers_.emplace_back([this] { RunWorker(); });
}

ParallelAnalyzer::~ParallelAnalyzer() {
  Finish();
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  for (std::thread& worker : workers_) worker.join();
}

void ParallelAnalyzer::Add(std::string_view location, std::string_view text, bool text_is_clean) {
  if (workers_.empty()) {
    analyzer_->Decode(location, text, &single_event_, text_is_clean);
    RuleMatch match = analyzer_->Correlate(&single_event_);
    sink_(match, single_event_);
    return;
  }
  ring_[filling_]->texts[ring_[filling_]->size].assign(text);
  Queue(location, text_is_clean);
}

void ParallelAnalyzer::AddTaking(std::string_view location, std::string* text, bool text_is_clean) {
  if (workers_.empty()) {
    analyzer_->DecodeTaking(location, text, &single_event_, text_is_clean);
    RuleMatch match = analyzer_->Correlate(&single_event_);
    sink_(match, single_event_);
    return;
  }
  ring_[filling_]->texts[ring_[filling_]->size].swap(*text);
  Queue(location, text_is_clean);
}

void ParallelAnalyzer::Queue(std::string_view location, bool text_is_clean) {
  Batch& batch = *ring_[filling_];
  batch.locations[batch.size].assign(location);
  batch.clean[batch.size] = text_is_clean;
  if (++batch.size < batch_size_) return;
  SubmitFilled();
  // Pass on what the workers have finished, so that output keeps pace with input.
  while (in_flight_ > 0 && CorrelateOldest(false)) {
  }
  // The caller fills the next batch, so one must be free.
  if (in_flight_ == ring_.size()) CorrelateOldest(true);
}

void ParallelAnalyzer::Finish() {
  if (workers_.empty()) return;
  if (ring_[filling_]->size > 0) SubmitFilled();
  while (in_flight_ > 0) CorrelateOldest(true);
}

void ParallelAnalyzer::SubmitFilled() {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(ring_[filling_].get());
  }
  work_ready_.notify_one();
  filling_ = (filling_ + 1) % ring_.size();
  ++in_flight_;
}

bool ParallelAnalyzer::CorrelateOldest(bool wait) {
  Batch& batch = *ring_[oldest_];
  {
    std::unique_lock lock(mu_);
    if (!wait && !batch.decoded) return false;
    batch_decoded_.wait(lock, [&] { return batch.decoded; });
    batch.decoded = false;
  }
  for (size_t i = 0; i < batch.size; ++i) {
    RuleMatch match = analyzer_->Correlate(&batch.events[i]);
    sink_(match, batch.events[i]);
  }
  batch.size = 0;
  oldest_ = (oldest_ + 1) % ring_.size();
  --in_flight_;
  return true;
}

void ParallelAnalyzer::RunWorker() {
  while (true) {
    Batch* batch = nullptr;
    {
      std::unique_lock lock(mu_);
      work_ready_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      batch = queue_.front();
      queue_.pop_front();
    }
    for (size_t i = 0; i < batch->size; ++i) {
      analyzer_->Decode(batch->locations[i], batch->texts[i], &batch->events[i], batch->clean[i]);
    }
    {
      std::lock_guard lock(mu_);
      batch->decoded = true;
    }
    batch_decoded_.notify_all();
  }
}

}  // namespace vigil::analysis
