untrusted comment: verify with s.pub
RWR9Dpg/ZrU1TKqLvtO+Qklcug6ci5hnWUQgIbq7Owp/K+Wwwbf5yu+pjTRPPQrdIfOqEC7qQs+2frnxyX+0jejaP+N6DONOYgI=
