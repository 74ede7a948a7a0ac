// name: poor-buildings
// title: Poor audio streams by building (your CQD building file), worst first
// category: places
// description: For each building of the building data file loaded with `callgraph buildings`,
//   and each side of the corporate network its networks are on (inside: InsideCorp = 1), the
//   classified (good or poor) audio streams in which a client end placed there took part, each
//   stream counted once per building, and the share that was poor: poor / (poor + good), as the
//   Call Quality Dashboard computes it. network lists the building's networks those streams were
//   seen on. The wired and Wi-Fi columns split the same streams as CQD does (a stream is Wi-Fi if
//   either end is, wired when neither is and a client end is wired). Buildings with fewer than
//   minStreams classified streams are left out.
// param: minStreams int = 0 | example: 50 | buildings with fewer classified audio streams are left out
// param: since datetime = null | example: 2026-11-01T00:00:00Z | calls starting at or after this
// param: until datetime = null | example: 2026-11-08T00:00:00Z | calls starting before this
// param: limit int = 100 | most rows to return
// param: fresh bool = false | read the calls even where the summaries are current (see callgraph summarize)
// summary: as is
//
// In Neo4j Browser, run these first:
// :param minStreams => 0
// :param since => null
// :param until => null
// :param limit => 100
// :param fresh => false
// Without a window: the rows `callgraph summarize` kept, while no load has written call records
// (nor a building file been loaded) since (fresh = true reads the calls anyway). Otherwise the
// calls: every one, read in store order, or those the startDateTime index finds in the window.
OPTIONAL MATCH (state:Summaries {id: 'all'})
WITH $since IS NULL AND $until IS NULL AND NOT $fresh
     AND coalesce(state.builtFor = state.dataVersion, false) AS summarized
CALL (summarized) {
  WITH summarized WHERE summarized
  // (rank IS NOT NULL lets the (query, rank) index find the rows: no scan of every SummaryRow)
  MATCH (s:SummaryRow) WHERE s.query = 'poor-buildings' AND s.rank IS NOT NULL
  RETURN s.building AS building, s.inside AS inside, s.network AS network, s.streams AS streams,
         s.poorStreams AS poorStreams, s.poorRatio AS poorRatio, s.wiredStreams AS wiredStreams,
         s.wiredPoorStreams AS wiredPoorStreams, s.wiredPoorRatio AS wiredPoorRatio, s.wifiStreams AS wifiStreams,
         s.wifiPoorStreams AS wifiPoorStreams, s.wifiPoorRatio AS wifiPoorRatio
  UNION ALL
  WITH summarized WHERE NOT summarized
  CALL () {
    WITH $since IS NULL AND $until IS NULL AS everything WHERE everything
    MATCH (c:CallRecord)
    RETURN c
    UNION ALL
    WITH $since IS NOT NULL OR $until IS NOT NULL AS window WHERE window
    MATCH (c:CallRecord)
    WHERE c.startDateTime >= coalesce($since, datetime('0001-01-01T00:00:00Z'))
      AND c.startDateTime < coalesce($until, datetime('9999-12-31T00:00:00Z'))
    RETURN c
  }
  MATCH (c)-[:CONTAINS]->(:Session)-[:CONTAINS]->(:Segment)-[:CONTAINS]->(m:Media)
  WHERE m.modality = 'audio' AND m.callerRatedStreams + m.calleeRatedStreams > 0
  // the client ends placed in a building (see docs/graph-model.md, "Buildings and networks"): a
  // line with both ends in one building counts once there
  MATCH (m)-[:CALLER_AT|CALLEE_AT]->(n:Network)-[:IN_BUILDING]->(b:Building)
  WITH b, n.insideCorp AS inside, m, collect(DISTINCT n.key) AS seenOn,
       m.callerRatedStreams + m.calleeRatedStreams AS rated, m.callerPoorStreams + m.calleePoorStreams AS poor,
       'wifi' IN [m.callerNetworkConnectionType, m.calleeNetworkConnectionType] AS wifi,
       'wired' IN [m.callerNetworkConnectionType, m.calleeNetworkConnectionType] AS wired
  WITH b.name AS building, inside, collect(seenOn) AS seen, sum(rated) AS streams, sum(poor) AS poorStreams,
       sum(CASE WHEN wired AND NOT wifi THEN rated ELSE 0 END) AS wiredStreams,
       sum(CASE WHEN wired AND NOT wifi THEN poor ELSE 0 END) AS wiredPoorStreams,
       sum(CASE WHEN wifi THEN rated ELSE 0 END) AS wifiStreams,
       sum(CASE WHEN wifi THEN poor ELSE 0 END) AS wifiPoorStreams
  WHERE streams >= $minStreams
  CALL (seen) {
    UNWIND seen AS keys
    UNWIND keys AS key
    WITH DISTINCT key ORDER BY key
    RETURN collect(key) AS network
  }
  RETURN building, inside, network, streams, poorStreams, round(toFloat(poorStreams) / streams, 3) AS poorRatio,
         wiredStreams, wiredPoorStreams,
         CASE WHEN wiredStreams > 0 THEN round(toFloat(wiredPoorStreams) / wiredStreams, 3) END AS wiredPoorRatio,
         wifiStreams, wifiPoorStreams,
         CASE WHEN wifiStreams > 0 THEN round(toFloat(wifiPoorStreams) / wifiStreams, 3) END AS wifiPoorRatio
  ORDER BY poorRatio DESC, streams DESC, building, inside
  LIMIT $limit
}
WITH * WHERE streams >= $minStreams
RETURN building, inside, network, streams, poorStreams, poorRatio, wiredStreams, wiredPoorStreams, wiredPoorRatio, wifiStreams, wifiPoorStreams, wifiPoorRatio
ORDER BY poorRatio DESC, streams DESC, building, inside
LIMIT $limit
