// The sockmap relay experiment's BPF side: every socket in `peers` is keyed
// by the cookie of the socket it is joined to, so a socket's incoming bytes
// are sent out of its peer by looking up its own cookie.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_SOCKHASH);
  __uint(max_entries, 65536);
  __type(key, __u64);
  __type(value, __u64);
} peers SEC(".maps");

SEC("sk_skb/stream_verdict")
int relay_verdict(struct __sk_buff* skb) {
  __u64 self = bpf_get_socket_cookie(skb);
  return bpf_sk_redirect_hash(skb, &peers, &self, 0);
}

char LICENSE[] SEC("license") = "GPL";
