#include "delivery/transport_thread.h"

#include <pthread.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace mailwarden {
namespace asio = boost::asio;

TransportThread::TransportThread(
    const std::function<std::unique_ptr<Transport>(asio::any_io_executor)>& make)
    : work_(asio::make_work_guard(io_)), inner_(make(io_.get_executor())), thread_([this] {
        pthread_setname_np(pthread_self(), "mw-delivery");  // as top -H and perf show it
        io_.run();
      }) {}

TransportThread::~TransportThread() {
  Shutdown();
  thread_.join();
  // The transport goes while its executor still exists; what is left queued on it then
  // goes with io_.
  inner_.reset();
}

asio::awaitable<std::vector<RecipientOutcome>> TransportThread::Deliver(
    const ClaimedMessage& message) {
  // The awaitable only starts on the thread: nothing of the transport runs here.
  co_return co_await asio::co_spawn(io_, inner_->Deliver(message), asio::use_awaitable);
}

void TransportThread::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  asio::post(io_, [this] { inner_->Shutdown(); });
  work_.reset();
}

}  // namespace mailwarden
