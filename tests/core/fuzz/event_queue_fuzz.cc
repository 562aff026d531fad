// SPDX-License-Identifier: GPL-2.0 OR MIT
//
// event_queue_fuzz.cc - libFuzzer target: the input is a program of event
// queue operations (push, peek and drop part of it, pop, move to a new ring
// when empty) on core/event_queue.c.  What the reader gets must account for
// every event pushed, in order: each record is the event pushed with its seq,
// or a LOST record for the events just before the next one it gets, and
// nothing is left over at the end.  Any breach aborts.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

extern "C" {
#include "event_queue.h"
}

namespace {

[[noreturn]] void Fail(const std::string &what, int op) {
  std::fprintf(stderr, "event_queue_fuzz: op %d: %s\n", op, what.c_str());
  std::abort();
}

void Check(bool ok, const std::string &what, int op) {
  if (!ok)
    Fail(what, op);
}

// The reader's side: what it has been handed so far.
struct Reader {
  uint64_t next_seq = 0;   // seq the next record must carry
  uint64_t records = 0;    // records consumed
  uint64_t lost = 0;       // events reported lost
};

// Check the records a peek or pop returned, in order; @consume: the reader
// takes them (a peek followed by a drop of @n, or a pop).
void Take(const std::vector<hmm_mirror_event> &got, uint32_t n,
          const std::map<uint64_t, hmm_mirror_event> &pushed, Reader *r,
          int op) {
  uint64_t seq = r->next_seq;
  for (uint32_t i = 0; i < got.size(); i++) {
    const hmm_mirror_event &e = got[i];
    Check(e.size == sizeof(e) && e.flags == 0 && e.reserved == 0,
          "record " + std::to_string(i) + " has a bad header", op);
    Check(e.seq == seq, "record seq " + std::to_string(e.seq) +
          ", expected " + std::to_string(seq), op);
    if (e.reason == HMM_MIRROR_EVENT_LOST) {
      Check(e.pages > 0, "a LOST record for no event", op);
      seq += e.pages;
      if (i < n)
        r->lost += e.pages;
    } else {
      auto it = pushed.find(e.seq);
      Check(it != pushed.end(), "record of an event never pushed", op);
      Check(e.reason == it->second.reason && e.start == it->second.start &&
            e.end == it->second.end && e.pages == it->second.pages,
            "record " + std::to_string(e.seq) + " differs from its event", op);
      seq++;
    }
    if (i + 1 == n)
      r->next_seq = seq;
  }
  r->records += n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  size_t pos = 0;
  auto byte = [&]() -> uint32_t { return pos < size ? data[pos++] : 0; };
  uint32_t cap = 1 + byte() % 16;
  std::vector<hmm_mirror_event> ring(cap);
  evq q;
  evq_init(&q, ring.data(), cap);
  std::map<uint64_t, hmm_mirror_event> pushed;  // by seq
  Reader r;
  int op = 0;

  for (; pos < size && op < 4000; op++) {
    const uint32_t kind = byte() % 8;
    if (kind < 4) {  // push, a burst of them at times
      const uint32_t burst = kind == 3 ? 1 + byte() % 40 : 1;
      for (uint32_t i = 0; i < burst; i++) {
        hmm_mirror_event e{};
        e.reason = byte() % HMM_MIRROR_EVENT_NR_REASONS;
        e.start = uint64_t{byte()} << 12;
        e.end = e.start + ((uint64_t{byte()} + 1) << 12);
        e.pages = byte();
        pushed[q.next_seq] = e;
        evq_push(&q, e.reason, e.start, e.end, e.pages);
      }
    } else if (kind < 7) {  // peek some, consume part of it
      const uint32_t max = byte() % (q.cap + 3);
      std::vector<hmm_mirror_event> out(max);
      out.resize(evq_peek(&q, out.data(), max));
      Check(out.size() <= max, "peek returned more than asked", op);
      const uint32_t n = kind == 6 ? static_cast<uint32_t>(out.size())
                                   : byte() % (out.size() + 1);
      Take(out, n, pushed, &r, op);
      evq_drop(&q, n);
    } else if (evq_pending(&q) == 0) {  // a new ring for the empty queue
      cap = 1 + byte() % 16;
      std::vector<hmm_mirror_event> bigger(cap);
      evq_resize(&q, bigger.data(), cap);
      ring.swap(bigger);
    }
    Check(q.delivered == r.records, "delivered " +
          std::to_string(q.delivered) + ", reader took " +
          std::to_string(r.records), op);
    Check(evq_pending(&q) <= uint64_t{q.cap} + 1, "more pending than fits",
          op);
  }

  // Drain: every event pushed is now accounted for, once.
  for (int i = 0; evq_pending(&q) && i < 64; i++) {
    std::vector<hmm_mirror_event> out(q.cap + 1);
    out.resize(evq_pop(&q, out.data(), static_cast<uint32_t>(out.size())));
    Take(out, static_cast<uint32_t>(out.size()), pushed, &r, op);
  }
  Check(evq_pending(&q) == 0, "the queue does not drain", op);
  Check(r.next_seq == q.next_seq, "the reader got to seq " +
        std::to_string(r.next_seq) + " of " + std::to_string(q.next_seq), op);
  Check(r.lost == q.lost_total, "LOST records count " + std::to_string(r.lost) +
        " events, the queue lost " + std::to_string(q.lost_total), op);
  Check(q.delivered == r.records, "delivered count", op);
  return 0;
}
