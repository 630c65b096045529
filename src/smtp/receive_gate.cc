#include "smtp/receive_gate.h"

#include <algorithm>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>

namespace mailwarden {
namespace asio = boost::asio;

ReceiveGate::Slot& ReceiveGate::Slot::operator=(Slot&& other) noexcept {
  if (this != &other) {
    reset();
    gate_ = std::exchange(other.gate_, nullptr);
  }
  return *this;
}

void ReceiveGate::Slot::reset() {
  if (gate_ != nullptr) std::exchange(gate_, nullptr)->Release();
}

ReceiveGate::ReceiveGate(asio::any_io_executor ex, std::size_t slots)
    : ex_(std::move(ex)), slots_(std::max<std::size_t>(slots, 1)) {}

std::size_t ReceiveGate::SlotsFor(std::int64_t max_receiving_bytes,
                                  std::int64_t max_message_bytes) {
  if (max_message_bytes <= 0) return 1;
  return static_cast<std::size_t>(
      std::max<std::int64_t>(max_receiving_bytes / max_message_bytes, 1));
}

asio::awaitable<ReceiveGate::Slot> ReceiveGate::Acquire() {
  // Nobody overtakes a waiter: a free slot with waiters present is already theirs.
  if (in_use_ < slots_ && waiters_.empty()) {
    ++in_use_;
    co_return Slot(this);
  }
  ++waits_;
  if (on_wait_) on_wait_();
  auto waiter = std::make_shared<Waiter>(ex_);
  waiter->timer.expires_at(std::chrono::steady_clock::time_point::max());
  waiters_.push_back(waiter);
  while (!waiter->granted) {
    boost::system::error_code ec;
    co_await waiter->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return Slot(this);
}

void ReceiveGate::Release() {
  if (waiters_.empty()) {
    --in_use_;
    return;
  }
  // The slot passes straight to the longest waiter: in_use_ does not change.
  std::shared_ptr<Waiter> next = std::move(waiters_.front());
  waiters_.pop_front();
  next->granted = true;
  next->timer.cancel();
}

}  // namespace mailwarden
