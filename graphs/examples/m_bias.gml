# M-bias: "friends" is a collider between two causes, one of the treatment, one of the outcome.
graph [
  directed 1
  node [ id 0 label "sociability" ]
  node [ id 1 label "friends" ]
  node [ id 2 label "health" ]
  node [ id 3 label "exercise" ]
  node [ id 4 label "longevity" ]
  edge [ source 0 target 1 ]
  edge [ source 0 target 3 ]
  edge [ source 2 target 1 ]
  edge [ source 2 target 4 ]
  edge [ source 3 target 4 ]
]
