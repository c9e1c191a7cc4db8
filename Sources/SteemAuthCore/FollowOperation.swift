/// The `follow` custom_json that follows or unfollows, as Steem and Hive wallets broadcast it:
/// `["follow",{"follower":"alice","following":"bob","what":[]}]` (`what: []` unfollows).
public enum FollowOperation {
    public static func unfollowJSON(follower: String, following: String) -> String {
        #"["follow",{"follower":\#(JSONText.string(follower)),"following":\#(JSONText.string(following)),"what":[]}]"#
    }
}
