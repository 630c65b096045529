#include "delivery/transport.h"

#include "delivery/maildir_transport.h"
#include "delivery/relay_transport.h"

namespace mailwarden {

std::unique_ptr<Transport> MakeTransport(const Config& config, boost::asio::any_io_executor ex) {
  switch (config.delivery.mode) {
    case DeliveryMode::kRelay:
      return std::make_unique<RelayTransport>(std::move(ex), RelayTransportOptionsFrom(config));
    case DeliveryMode::kMaildir:
      break;
  }
  return std::make_unique<MaildirTransport>(config.delivery.maildir);
}

}  // namespace mailwarden
