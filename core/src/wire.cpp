#include "cascade/event_reader.hpp"
#include "cascade/wire.hpp"

namespace cascade {

namespace wire {
const char* type_name(MsgType t) noexcept {
  switch (t) {
    case MsgType::InstrumentDefinition: return "instrument";
    case MsgType::Deposit: return "deposit";
    case MsgType::Withdrawal: return "withdrawal";
    case MsgType::AccountSettings: return "account_settings";
    case MsgType::NewOrder: return "new_order";
    case MsgType::CancelOrder: return "cancel";
    case MsgType::ModifyOrder: return "modify";
    case MsgType::MassCancel: return "mass_cancel";
    case MsgType::IndexPrice: return "index_price";
    case MsgType::FundingRate: return "funding_rate";
    case MsgType::Heartbeat: return "heartbeat";
    case MsgType::OrderAccepted: return "accepted";
    case MsgType::Rejected: return "rejected";
    case MsgType::OrderCancelled: return "cancelled";
    case MsgType::OrderModified: return "modified";
    case MsgType::Fill: return "fill";
    case MsgType::StopTriggered: return "stop_triggered";
    case MsgType::TopOfBook: return "top_of_book";
    case MsgType::DepthLevel: return "depth";
    case MsgType::MarkPrice: return "mark_price";
    case MsgType::BalanceChange: return "balance";
    case MsgType::PositionUpdate: return "position";
    case MsgType::MarginUpdate: return "margin";
    case MsgType::FundingPayment: return "funding_payment";
    case MsgType::Liquidation: return "liquidation";
    case MsgType::Deleverage: return "deleverage";
    case MsgType::InsuranceFund: return "insurance_fund";
    case MsgType::CircuitBreaker: return "circuit_breaker";
  }
  return "unknown";
}
}  // namespace wire

const char* describe(DecodeError e) noexcept {
  switch (e) {
    case DecodeError::None: return "no error";
    case DecodeError::Truncated: return "truncated event";
    case DecodeError::BadLength: return "bad event length";
    case DecodeError::UnknownType: return "unknown event type";
    case DecodeError::BadFlags: return "undefined header flags set";
    case DecodeError::NonZeroReserved: return "reserved header field is not zero";
    case DecodeError::BadFileHeader: return "bad file header";
    case DecodeError::Misaligned: return "buffer is not 8-byte aligned";
  }
  return "unknown decode error";
}

std::string ReadError::message() const {
  std::string m = "offset " + std::to_string(offset) + ": " + describe(code);
  const auto t = static_cast<wire::MsgType>(type);
  const std::string name = wire::type_name(t);
  switch (code) {
    case DecodeError::Truncated:
      if (remaining < sizeof(wire::MessageHeader))
        m += " (" + std::to_string(remaining) + " bytes left, a header needs 32)";
      else
        m += " (" + name + " needs " + std::to_string(wire::message_size(t)) + " bytes, " +
             std::to_string(remaining) + " remain)";
      break;
    case DecodeError::BadLength:
      m += " (" + name + " is " + std::to_string(wire::message_size(t)) + " bytes, header says " +
           std::to_string(length) + ")";
      break;
    case DecodeError::UnknownType: m += " (type byte 0x" + [&] {
        const char* hex = "0123456789abcdef";
        return std::string{hex[type >> 4], hex[type & 15]};
      }() + ")";
      break;
    default: break;
  }
  return m;
}

}  // namespace cascade
