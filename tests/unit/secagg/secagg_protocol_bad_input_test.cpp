// Bad input to the SecAgg+ state machines, slipped into a running session
// of 20 agents: each is refused with a clear error, nothing is revealed,
// and the session still completes with the right mean.
#include <catch2/catch.hpp>

#include "secagg_protocol_harness.hpp"

using namespace secagg_protocol_test;

namespace {

// An agent of U1 that is not a neighbour of `agent`.
AgentId non_neighbour_of(const RoundSetup& setup, AgentId agent) {
  for (AgentId a : setup.agents) {
    if (a == agent) continue;
    bool neighbour = false;
    for (const NeighbourKeys& n : setup.neighbours) neighbour = neighbour || n.agent == a;
    if (!neighbour) return a;
  }
  FAIL("no non-neighbour");
  return 0;
}

}  // namespace

TEST_CASE("secagg protocol: bad input is refused and the session still completes", "[unit][secagg][protocol]") {
  Scenario sc;
  sc.dim = 64;
  sc.seed = 21;
  sc.drop_before_shares = {4};  // advertises, never uploads shares
  sc.drop_before_masked = {3};  // uploads shares, never a masked input
  Harness h(sc);
  ServerRound& server = h.server();
  const std::string session = h.session();

  // ---- advertise phase
  const AdvertiseKeys a1 = h.client(1).advertise();
  AdvertiseKeys other_session = a1;
  other_session.session = "round-8";
  require_refused(server.on_advertise(other_session), Code::kInvalidArgument, "session round-8");
  require_refused(server.on_share_upload(ShareUpload{session, 1, {}}), Code::kConflict, "phase advertise");
  require_refused(server.on_masked_input(MaskedInput{session, 1, std::vector<std::uint32_t>(64)}), Code::kConflict,
                  "phase advertise");
  require_refused(server.setup_for(1).status(), Code::kConflict, "still advertising");
  require_refused(server.close_shares(), Code::kConflict, "phase advertise");
  AdvertiseKeys low_order = a1;
  low_order.agent = 99;
  low_order.enc_public_key = Key32{};  // the point 0: every agreement with it is zero
  require_refused(server.on_advertise(low_order), Code::kInvalidArgument, "not a usable X25519 public key");
  AdvertiseKeys one_key = a1;
  one_key.agent = 98;
  one_key.mask_public_key = one_key.enc_public_key;
  require_refused(server.on_advertise(one_key), Code::kInvalidArgument, "one key pair");
  h.advertise();
  require_ok(server.on_advertise(a1));  // a replay: accepted again, no change
  AdvertiseKeys a1_changed = a1;
  a1_changed.num_samples += 1;
  require_refused(server.on_advertise(a1_changed), Code::kConflict, "already advertised");
  require_ok(h.close_advertise());
  CHECK(server.advertised().size() == 20);
  AdvertiseKeys late = a1;
  late.agent = 21;
  require_refused(server.on_advertise(late), Code::kConflict, "phase shares");
  require_ok(server.on_advertise(a1));  // a late retry of an accepted advert is still fine

  // ---- setup and shares
  const RoundSetup setup1 = ok(server.setup_for(1));
  require_refused(server.setup_for(77).status(), Code::kNotFound, "not in secagg session");
  require_refused(h.client(1).on_setup(ok(server.setup_for(2)), h.random()).status(), Code::kInvalidArgument,
                  "addressed to agent 2");
  RoundSetup other_graph = setup1;
  other_graph.graph_seed[0] ^= 1;  // the neighbours listed are no longer the graph's
  require_refused(h.client(1).on_setup(other_graph, h.random()).status(), Code::kInvalidArgument, "the graph gives");
  RoundSetup low_threshold = setup1;
  low_threshold.threshold = 2;  // would let the server collect both kinds of share
  require_refused(h.client(1).on_setup(low_threshold, h.random()).status(), Code::kInvalidArgument, "k / 2 + 1");
  CHECK(h.client(1).phase() == ClientPhase::kAdvertised);
  const ShareUpload up1 = ok(h.client(1).on_setup(setup1, h.random()));
  CHECK(ok(h.client(1).on_setup(setup1, h.random())) == up1);  // a retry: the same envelopes
  RoundSetup setup1_changed = setup1;
  setup1_changed.weight /= 2;
  require_refused(h.client(1).on_setup(setup1_changed, h.random()).status(), Code::kConflict, "different setup");

  ShareUpload stranger = up1;
  stranger.agent = 77;
  require_refused(server.on_share_upload(stranger), Code::kPermissionDenied, "not in U1");
  ShareUpload misaddressed = up1;  // one envelope re-addressed to an agent that is no neighbour
  const AgentId far = non_neighbour_of(setup1, 1);
  const AgentId first = misaddressed.envelopes.begin()->first;
  misaddressed.envelopes[far] = misaddressed.envelopes.at(first);
  misaddressed.envelopes.erase(first);
  require_refused(server.on_share_upload(misaddressed), Code::kInvalidArgument, "not one of its neighbours");
  ShareUpload missing = up1;
  missing.envelopes.erase(missing.envelopes.begin());
  require_refused(server.on_share_upload(missing), Code::kInvalidArgument, "lacks the envelope");
  ShareUpload short_envelope = up1;
  short_envelope.envelopes.begin()->second.pop_back();
  require_refused(server.on_share_upload(short_envelope), Code::kInvalidArgument, "bytes");
  ShareUpload impostor = up1;  // agent 1's envelopes claimed as agent 2's
  impostor.agent = 2;
  require_refused(server.on_share_upload(impostor), Code::kInvalidArgument);
  ShareUpload wrong_session = up1;
  wrong_session.session = "round-8";
  require_refused(server.on_share_upload(wrong_session), Code::kInvalidArgument, "session round-8");

  h.share();
  require_ok(server.on_share_upload(up1));  // a replay
  ShareUpload up1_changed = up1;
  up1_changed.envelopes.begin()->second[20] ^= 1;
  require_refused(server.on_share_upload(up1_changed), Code::kConflict, "already uploaded");
  require_refused(server.on_masked_input(MaskedInput{session, 1, std::vector<std::uint32_t>(64)}), Code::kConflict,
                  "phase shares");
  require_refused(server.delivery_for(1).status(), Code::kConflict, "no share delivery yet");
  require_ok(h.close_shares());
  CHECK(server.share_senders().size() == 19);
  require_refused(server.delivery_for(4).status(), Code::kNotFound, "sent no shares");

  // ---- deliveries and masked inputs
  const ShareDelivery d1 = ok(server.delivery_for(1));
  const Quantizer q = ok(h.client(1).quantizer());
  require_refused(h.client(1).on_unmask(UnmaskRequest{session, 1, {1}, {}}).status(), Code::kConflict,
                  "sent no masked input");
  ShareDelivery tampered = d1;
  tampered.envelopes.begin()->second[30] ^= 1;
  require_refused(h.client(1).on_delivery(tampered, h.update(1), q).status(), Code::kUnauthenticated, "does not open");
  // A neighbour's envelope meant for another agent, handed to agent 1.
  const AgentId sender = d1.envelopes.begin()->first;
  AgentId other_recipient = 0;
  for (AgentId w : server.share_senders()) {
    if (w == 1 || w == sender) continue;
    const ShareDelivery dw = ok(server.delivery_for(w));
    if (dw.envelopes.contains(sender)) {
      other_recipient = w;
      ShareDelivery swapped = d1;
      swapped.envelopes[sender] = dw.envelopes.at(sender);
      require_refused(h.client(1).on_delivery(swapped, h.update(1), q).status(), Code::kUnauthenticated,
                      "does not open");
      break;
    }
  }
  REQUIRE(other_recipient != 0);
  require_refused(h.client(1).on_delivery(ok(server.delivery_for(2)), h.update(1), q).status(), Code::kInvalidArgument,
                  "addressed to agent 2");
  require_refused(h.client(1).on_delivery(d1, std::vector<float>(63), q).status(), Code::kInvalidArgument, "63 values");
  require_refused(h.client(1).on_delivery(d1, h.update(1), ok(Quantizer::create(5, kClip))).status(),
                  Code::kInvalidArgument, "quantizer");
  CHECK(h.client(1).phase() == ClientPhase::kSharesSent);  // nothing changed, nothing revealed

  require_refused(server.on_masked_input(MaskedInput{session, 4, std::vector<std::uint32_t>(64)}),
                  Code::kPermissionDenied, "not in U2");
  require_refused(server.on_masked_input(MaskedInput{session, 3, std::vector<std::uint32_t>(65)}),
                  Code::kInvalidArgument, "65 values");
  require_refused(server.on_masked_input(MaskedInput{"round-8", 1, std::vector<std::uint32_t>(64)}),
                  Code::kInvalidArgument, "session round-8");
  h.mask();  // agent 3 sent its shares but sends no masked input: a dropout
  const MaskedInput m1 = h.masked_inputs().at(1);
  CHECK(ok(h.client(1).on_delivery(d1, h.update(1), q)) == m1);  // a retry: the same vector
  require_ok(server.on_masked_input(m1));                        // a replay
  MaskedInput m1_changed = m1;
  m1_changed.values[0] += 1;
  require_refused(server.on_masked_input(m1_changed), Code::kConflict, "already sent another");
  require_refused(server.unmask_request_for(1).status(), Code::kConflict, "no unmask request yet");
  require_ok(h.close_masked());
  CHECK(server.masked_senders().size() == 18);

  // ---- unmasking
  const UnmaskRequest r1 = ok(server.unmask_request_for(1));
  CHECK(r1.dropouts == std::vector<AgentId>{3});
  UnmaskRequest overlap = r1;  // a survivor also named a dropout
  const AgentId victim = r1.survivors.back();
  overlap.dropouts.insert(std::upper_bound(overlap.dropouts.begin(), overlap.dropouts.end(), victim), victim);
  require_refused(h.client(1).on_unmask(overlap).status(), Code::kInvalidArgument, "both survivor and dropout");
  UnmaskRequest not_survivor = r1;
  not_survivor.survivors.erase(not_survivor.survivors.begin());  // agent 1
  not_survivor.dropouts.insert(not_survivor.dropouts.begin(), 1);
  require_refused(h.client(1).on_unmask(not_survivor).status(), Code::kInvalidArgument, "not a survivor");
  UnmaskRequest moved = r1;  // a real survivor claimed to have dropped
  moved.survivors.erase(std::find(moved.survivors.begin(), moved.survivors.end(), victim));
  moved.dropouts.push_back(victim);
  std::sort(moved.dropouts.begin(), moved.dropouts.end());
  CHECK(h.client(1).phase() == ClientPhase::kMaskedSent);  // the refusals revealed nothing
  const UnmaskResponse resp1 = ok(h.client(1).on_unmask(r1));
  CHECK(ok(h.client(1).on_unmask(r1)) == resp1);  // a retry: the same answer
  require_refused(h.client(1).on_unmask(moved).status(), Code::kConflict, "keeps the first");
  for (const auto& [owner, unused] : resp1.key_shares) CHECK_FALSE(resp1.seed_shares.contains(owner));

  require_refused(server.on_unmask_response(UnmaskResponse{session, 3, {}, {}}), Code::kPermissionDenied, "not in U3");
  UnmaskResponse extra = resp1;  // a share for an agent that was not asked about
  extra.seed_shares[non_neighbour_of(setup1, 1)] = resp1.seed_shares.begin()->second;
  require_refused(server.on_unmask_response(extra), Code::kInvalidArgument, "not asked");
  UnmaskResponse lacking = resp1;
  lacking.seed_shares.erase(lacking.seed_shares.begin());
  require_refused(server.on_unmask_response(lacking), Code::kInvalidArgument, "lacks");
  CHECK_FALSE(server.ready_to_finish());
  h.unmask();
  require_ok(server.on_unmask_response(resp1));  // a replay
  require_refused(server.on_unmask_response(lacking), Code::kConflict, "already sent another");
  require_refused(server.on_masked_input(MaskedInput{session, 3, std::vector<std::uint32_t>(64)}), Code::kConflict,
                  "phase unmask");
  CHECK(server.ready_to_finish());

  // The session completes: 18 survivors, agent 3's masks removed.
  h.check_result(ok(h.finish()), 18);
}
