#include "delivery/transport_thread.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <memory>
#include <thread>

namespace mailwarden {
namespace {
namespace asio = boost::asio;

// Answers every recipient with its address, noting the thread it ran on.
class RecordingTransport final : public Transport {
 public:
  explicit RecordingTransport(std::atomic<int>* shutdowns) : shutdowns_(shutdowns) {}
  asio::awaitable<std::vector<RecipientOutcome>> Deliver(const ClaimedMessage& message) override {
    ran_on = std::this_thread::get_id();
    std::vector<RecipientOutcome> outcomes;
    for (const auto& r : message.recipients) {
      outcomes.push_back({.index = r.index, .status = RecipientStatus::kSent, .reply = r.address});
    }
    co_return outcomes;
  }
  void Shutdown() override { ++*shutdowns_; }

  std::thread::id ran_on;

 private:
  std::atomic<int>* shutdowns_;
};

TEST(TransportThreadTest, DeliversOnItsThreadAndTheCallerResumesOnItsOwn) {
  std::atomic<int> shutdowns = 0;
  RecordingTransport* inner = nullptr;
  {
    // The caller's loop outlives the transport, whose thread may still let go of the loop's
    // executor after the caller resumed (the transport's destructor joins it).
    asio::io_context io;
    TransportThread transport([&](asio::any_io_executor) {
      auto t = std::make_unique<RecordingTransport>(&shutdowns);
      inner = t.get();
      return t;
    });
    ClaimedMessage message;
    message.recipients = {{.index = 0, .address = "a@example.net"},
                          {.index = 3, .address = "b@example.net"}};
    std::thread::id resumed_on;
    auto done = asio::co_spawn(
        io,
        [&]() -> asio::awaitable<std::vector<RecipientOutcome>> {
          auto outcomes = co_await transport.Deliver(message);
          resumed_on = std::this_thread::get_id();
          co_return outcomes;
        },
        asio::use_future);
    io.run();
    auto outcomes = done.get();
    ASSERT_EQ(outcomes.size(), 2u);
    EXPECT_EQ(outcomes[1].index, 3);
    EXPECT_EQ(outcomes[1].reply, "b@example.net");
    EXPECT_EQ(resumed_on, std::this_thread::get_id());
    ASSERT_NE(inner, nullptr);
    EXPECT_NE(inner->ran_on, std::this_thread::get_id());
    EXPECT_NE(inner->ran_on, std::thread::id());
  }
  EXPECT_EQ(shutdowns.load(), 1) << "the destructor shuts the transport down once";
}

}  // namespace
}  // namespace mailwarden
